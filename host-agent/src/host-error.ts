// The one shape of a host failure: a typed code callers branch on, a message
// for people, and the cause it wraps. Each module keeps its own subclass (so
// `instanceof` says where it came from) and its own code union; a subclass
// with a single failure kind fixes its code and takes only the message.
export class HostError<C extends string | number = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "HostError";
  }
}
