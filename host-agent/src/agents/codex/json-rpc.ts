// Newline-delimited JSON-RPC over a child's stdio (what `codex app-server`
// speaks). Strict and bounded because everything on the other end is
// untrusted input to the host:
// - a line longer than maxLineBytes is dropped whole (never buffered past the cap);
// - a line that is not a JSON-RPC message is logged and skipped;
// - every request has a timeout, and close() rejects whatever is still pending;
// - every server→client request is answered: unknown methods and throwing
//   handlers get a JSON-RPC error, so the server never waits on us forever.
import type { Readable, Writable } from "node:stream";
import { isObject } from "../payload.ts";
import { HostError } from "../../host-error.ts";
import { messageOf } from "../../error-message.ts";

/** Re-exported for the modules that read Codex payloads. */
export { isObject };

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

export type RpcId = number | string;

/** A JSON-RPC error answer from the server (or a local failure shaped like one). */
/** Its code is JSON-RPC's number (the wire's), hence HostError<number>. */
export class RpcError extends HostError<number> {
  constructor(
    code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(code, message);
    this.name = "RpcError";
  }
}

export const METHOD_NOT_FOUND = -32601;
export const INTERNAL_ERROR = -32603;
/** Local: the peer went away (process exit, close()). */
export const PEER_CLOSED = -32000;
/** Local: no answer within the request timeout. */
export const REQUEST_TIMEOUT = -32001;

export type NotificationHandler = (method: string, params: unknown) => void;
/** Returns the result; throw RpcError to choose the error code. */
export type RequestHandler = (method: string, params: unknown, id: RpcId) => Promise<unknown>;

export interface JsonRpcOptions {
  input: Readable;
  output: Writable;
  log: (line: string) => void;
  onNotification: NotificationHandler;
  onRequest: RequestHandler;
  maxLineBytes?: number;
  requestTimeoutMs?: number;
}

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class JsonRpcPeer {
  private readonly pending = new Map<RpcId, Pending>();
  private readonly maxLineBytes: number;
  private readonly requestTimeoutMs: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Dropping an over-long line until its newline arrives. */
  private skipping = false;
  private nextId = 1;
  private closedReason: string | undefined;

  constructor(private readonly options: JsonRpcOptions) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    options.input.on("data", (chunk: Buffer | string) => this.onData(typeof chunk === "string" ? Buffer.from(chunk) : chunk));
    options.input.on("end", () => this.close("the peer closed its output"));
    options.input.on("error", (error: Error) => this.close(`read error: ${error.message}`));
    // EPIPE after the child died must not become an uncaught exception.
    options.output.on("error", (error: Error) => this.close(`write error: ${error.message}`));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  request<T = unknown>(method: string, params: unknown, timeoutMs = this.requestTimeoutMs): Promise<T> {
    if (this.closedReason !== undefined) return Promise.reject(new RpcError(PEER_CLOSED, `${method}: ${this.closedReason}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError(REQUEST_TIMEOUT, `${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.write({ id, method, params });
    });
  }

  notify(method: string, params?: unknown): void {
    this.write(params === undefined ? { method } : { method, params });
  }

  /** Rejects every pending request; later writes are dropped. Idempotent. */
  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.chunks = [];
    this.buffered = 0;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new RpcError(PEER_CLOSED, `${p.method}: ${reason}`));
    }
  }

  private write(message: Record<string, unknown>): void {
    if (this.closedReason !== undefined) return;
    try {
      this.options.output.write(`${JSON.stringify(message)}\n`);
    } catch (error) {
      this.close(`write failed: ${(error as Error).message}`);
    }
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    while (this.closedReason === undefined) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) {
        this.append(chunk.subarray(start));
        return;
      }
      this.append(chunk.subarray(start, nl));
      if (this.skipping) {
        this.skipping = false;
      } else {
        const line = Buffer.concat(this.chunks, this.buffered).toString("utf8");
        this.dispatchLine(line);
      }
      this.chunks = [];
      this.buffered = 0;
      start = nl + 1;
    }
  }

  private append(part: Buffer): void {
    if (part.length === 0 || this.skipping) return;
    if (this.buffered + part.length > this.maxLineBytes) {
      this.options.log(`json-rpc: dropping a line longer than ${this.maxLineBytes} bytes`);
      this.skipping = true;
      this.chunks = [];
      this.buffered = 0;
      return;
    }
    this.chunks.push(Buffer.from(part)); // copy: the stream may reuse its buffer
    this.buffered += part.length;
  }

  private dispatchLine(raw: string): void {
    const line = raw.trim();
    if (line === "") return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.options.log(`json-rpc: skipping a line that is not JSON: ${snippet(line)}`);
      return;
    }
    if (!isObject(message)) {
      this.options.log(`json-rpc: skipping a non-object message: ${snippet(line)}`);
      return;
    }
    const { id, method } = message;
    const validId = typeof id === "number" || typeof id === "string";
    if (typeof method === "string") {
      if (validId)
        this.answer(id, method, message.params).catch((error: unknown) => this.options.log(`json-rpc: answering ${logName(method)} failed: ${String(error)}`));
      else if (id === undefined || id === null) this.safely(() => this.options.onNotification(method, message.params), method);
      else this.options.log(`json-rpc: skipping ${logName(method)} with an invalid id`);
      return;
    }
    if (!validId) {
      this.options.log(`json-rpc: skipping a message with neither method nor id: ${snippet(line)}`);
      return;
    }
    const pending = this.pending.get(id);
    if (!pending) {
      this.options.log(`json-rpc: skipping an answer to unknown request ${typeof id === "number" ? id : snippet(id)}`);
      return;
    }
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if ("error" in message) {
      const error = isObject(message.error) ? message.error : {};
      const code = typeof error.code === "number" ? error.code : INTERNAL_ERROR;
      const text = typeof error.message === "string" ? error.message : "unknown error";
      pending.reject(new RpcError(code, `${pending.method}: ${text.slice(0, 2048)}`, error.data));
    } else {
      pending.resolve(message.result);
    }
  }

  private async answer(id: RpcId, method: string, params: unknown): Promise<void> {
    try {
      const result = await this.options.onRequest(method, params, id);
      this.write({ id, result: result ?? null });
    } catch (error) {
      const code = error instanceof RpcError ? error.code : INTERNAL_ERROR;
      const message = messageOf(error);
      if (!(error instanceof RpcError)) this.options.log(`json-rpc: handler for ${logName(method)} failed: ${message}`);
      this.write({ id, error: { code, message: message.slice(0, 1024) } });
    }
  }

  private safely(fn: () => void, method: string): void {
    try {
      fn();
    } catch (error) {
      this.options.log(`json-rpc: notification handler for ${logName(method)} failed: ${(error as Error).message}`);
    }
  }
}

/** A method name fit for a log line (it comes from the peer). */
export function logName(method: string): string {
  return method.replace(/[^A-Za-z0-9_/.-]/g, "?").slice(0, 80);
}

/** Describes, never echoes, untrusted input: it may hold command output or terminal escapes. */
function snippet(text: string): string {
  return `(${text.length} chars)`;
}
