// What the host answers each device command with (docs/protocol.md §10.3):
// the message type of a success, and for `result` the exact shape of its
// `data`. The `result` body schema itself stays open (data: any object) so
// that hosts can add fields; these schemas are what today's host sends and
// what docs/app-protocol.schema.json publishes.
import * as s from "./schema.ts";
import { approvalDecision, pushKind, type DeviceCommandType, type ThreadSummary } from "./app-protocol.ts";

const id = s.string({ regex: /^[A-Za-z0-9_.:-]{1,128}$/ });

export interface CommandAnswer {
  /** "result" or "thread.list" answer success; "none": the host never answers (ack). */
  readonly success: "result" | "thread.list" | "none";
  /** For "result": the schema of `data`; absent means the body is `{}` (no data). */
  readonly data?: s.Schema<unknown>;
}

export const COMMAND_ANSWERS = {
  "device.hello": { success: "result" },
  "threads.list": { success: "thread.list" },
  "thread.subscribe": {
    success: "result",
    /** The thread and its newest seq when the subscription started (events follow as `event` messages). */
    data: s.strictObject({ thread: id, lastSeq: s.int(0, Number.MAX_SAFE_INTEGER) }),
  },
  "thread.unsubscribe": { success: "result" },
  /** The new thread's id; the sender is subscribed to it from seq 0. */
  "thread.start": { success: "result", data: s.strictObject({ thread: id }) },
  "thread.send": { success: "result" },
  "turn.steer": { success: "result" },
  "turn.interrupt": { success: "result" },
  "question.answer": { success: "result" },
  "approval.decide": { success: "result", data: s.strictObject({ approvalId: id, decision: approvalDecision }) },
  "thread.settings": { success: "result" },
  ack: { success: "none" },
  /** The settings now in force for this device. */
  "push.register": { success: "result", data: s.strictObject({ kinds: s.array(pushKind, { max: 3 }), details: s.boolean() }) },
  "push.unregister": { success: "result" },
  /** The push service's HTTP status for the test push (201: accepted), as relayed by the relay. */
  "push.test": { success: "result", data: s.strictObject({ status: s.int(100, 599) }) },
  "device.visibility": { success: "result" },
} as const satisfies Record<DeviceCommandType, CommandAnswer>;

/** The answer of a command whose `result` carries no data: `{}`. */
export type NoResultData = Record<string, never>;

/**
 * What device command T resolves with on a device (the client SDK's
 * HostConnection.command and its methods): the `data` of its `result` as
 * COMMAND_ANSWERS[T].data describes it, NoResultData when it has none, the
 * threads for threads.list, never for ack (not answered). A type only: the
 * device checks a result's envelope and that `data` is an object, not each
 * field (a newer host may add fields).
 */
export type CommandResult<T extends DeviceCommandType> = (typeof COMMAND_ANSWERS)[T] extends { readonly success: "none" }
  ? never
  : (typeof COMMAND_ANSWERS)[T] extends { readonly success: "thread.list" }
    ? { threads: ThreadSummary[] }
    : (typeof COMMAND_ANSWERS)[T] extends { readonly data: s.Schema<infer D> }
      ? D
      : NoResultData;
