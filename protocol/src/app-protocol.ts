// The application protocol: typed messages inside the channel (app-envelope.ts
// carries them). The host is the only place anything runs; a device can only
// ask for what these messages offer. docs/protocol.md §10 specifies them.
//
// Conventions
// - Device → host messages are commands. Their envelope `id` is the
//   idempotency key: a host that sees an id again answers as before and does
//   nothing twice. The host answers every command with `result` or `error`
//   (envelope `re` = the command's id).
// - Host → device `event` messages belong to a thread (envelope `thread`) and
//   carry a per-thread sequence number (envelope `seq`, from 1, +1 per event,
//   persisted before sending). Devices acknowledge with the envelope `ack`
//   field; after any reconnect a device subscribes with the last seq it holds
//   and receives exactly the missing events, in order.
import * as z from "zod/mini";
import { defineAppProtocol } from "./app-envelope.ts";

const text = (max: number) => z.string().check(z.maxLength(max));
const id = z.string().check(z.regex(/^[A-Za-z0-9_.:-]{1,128}$/));
const seq = z.int().check(z.gte(0), z.lte(Number.MAX_SAFE_INTEGER));
const millis = z.int().check(z.gte(0), z.lte(Number.MAX_SAFE_INTEGER));

// ------------------------------------------------------------------ shared

export const riskTier = z.enum(["steer", "continue", "expand", "commit"]);
export const effort = z.enum(["minimal", "low", "medium", "high", "xhigh"]);

export const modelInfo = z.strictObject({
  id: text(128),
  name: text(128),
  efforts: z.array(effort).check(z.maxLength(8)),
  defaultEffort: z.optional(effort),
});
export type ModelInfo = z.infer<typeof modelInfo>;

export const threadStatus = z.enum(["idle", "running", "waiting", "failed", "archived"]);

export const threadSummary = z.strictObject({
  id,
  title: text(200),
  status: threadStatus,
  createdAt: millis,
  updatedAt: millis,
  cwd: z.optional(text(1024)),
  model: z.optional(text(128)),
  effort: z.optional(effort),
  /** The thread's newest event seq. */
  lastSeq: seq,
  /** Requests waiting for a human in this thread. */
  pending: z.int().check(z.gte(0), z.lte(10_000)),
});
export type ThreadSummary = z.infer<typeof threadSummary>;

/** Everything a reviewer needs to decide on an approval from a small screen. */
export const approvalEvidence = z.strictObject({
  /** The exact action: the command line, or the files and operation. */
  action: text(8192),
  reason: z.optional(text(4096)),
  host: text(256),
  cwd: text(1024),
  filesChanged: z.array(text(1024)).check(z.maxLength(500)),
  checksRun: z.array(z.strictObject({ name: text(512), status: z.enum(["passed", "failed", "running", "unknown"]) })).check(z.maxLength(100)),
  sideEffects: z.optional(text(4096)),
  flags: z.strictObject({ network: z.boolean(), credentials: z.boolean(), externalTools: z.boolean(), writes: z.boolean() }),
  next: z.optional(text(4096)),
});
export type ApprovalEvidence = z.infer<typeof approvalEvidence>;

export const approvalDecision = z.enum(["approve_once", "approve_session", "deny"]);

// ------------------------------------------------------------------ thread events

const eventBodies = [
  z.strictObject({ kind: z.literal("turn.status"), turnId: id, status: z.enum(["started", "completed", "interrupted", "failed"]), error: z.optional(text(2048)) }),
  z.strictObject({ kind: z.literal("message.user"), itemId: id, text: text(65536), device: z.optional(text(64)) }),
  z.strictObject({ kind: z.literal("message.delta"), itemId: id, text: text(65536) }),
  z.strictObject({ kind: z.literal("message.completed"), itemId: id, text: text(262144) }),
  z.strictObject({ kind: z.literal("command.started"), itemId: id, command: text(8192), cwd: text(1024) }),
  z.strictObject({ kind: z.literal("command.output"), itemId: id, stream: z.enum(["stdout", "stderr"]), chunk: text(65536) }),
  z.strictObject({ kind: z.literal("command.finished"), itemId: id, exitCode: z.nullable(z.int()), durationMs: millis }),
  z.strictObject({
    kind: z.literal("file.change"),
    itemId: id,
    path: text(1024),
    change: z.enum(["add", "modify", "delete", "rename"]),
    oldPath: z.optional(text(1024)),
    /** Unified diff. */
    diff: text(262144),
  }),
  z.strictObject({
    kind: z.literal("plan.update"),
    steps: z.array(z.strictObject({ text: text(1024), status: z.enum(["pending", "in_progress", "completed"]) })).check(z.maxLength(100)),
  }),
  z.strictObject({ kind: z.literal("test.result"), itemId: id, name: text(512), status: z.enum(["passed", "failed", "skipped"]), summary: z.optional(text(8192)) }),
  z.strictObject({
    kind: z.literal("image"),
    itemId: id,
    mime: z.enum(["image/png", "image/jpeg", "image/webp"]),
    /** Images travel in base64 chunks of at most 192 KiB of text. */
    chunk: z.int().check(z.gte(0), z.lte(255)),
    chunks: z.int().check(z.gte(1), z.lte(256)),
    data: text(196608),
  }),
  z.strictObject({ kind: z.literal("usage"), inputTokens: z.int(), outputTokens: z.int(), totalTokens: z.optional(z.int()) }),
  z.strictObject({
    kind: z.literal("approval.request"),
    approvalId: id,
    type: z.enum(["command", "file_change", "permission"]),
    tier: riskTier,
    /** The policy rule that classified it. */
    rule: text(256),
    /** "any-device": any paired device may decide; "host-only": only the host's terminal. */
    where: z.enum(["any-device", "host-only"]),
    evidence: approvalEvidence,
    /** type "file_change": the unified diff of what will be written, when the agent gave it. */
    diff: z.optional(text(262144)),
    options: z.array(approvalDecision).check(z.minLength(1), z.maxLength(3)),
    expiresAt: z.optional(millis),
  }),
  z.strictObject({
    kind: z.literal("approval.resolved"),
    approvalId: id,
    decision: z.enum(["approve_once", "approve_session", "deny", "cancel"]),
    /** Who decided: a device name, "policy", "host" or "timeout". */
    by: text(128),
    note: z.optional(text(2048)),
  }),
  z.strictObject({
    kind: z.literal("question"),
    questionId: id,
    text: text(8192),
    options: z.optional(z.array(z.strictObject({ id, label: text(512) })).check(z.maxLength(20))),
  }),
  z.strictObject({ kind: z.literal("question.answered"), questionId: id, by: text(128) }),
  z.strictObject({ kind: z.literal("settings"), model: z.optional(text(128)), effort: z.optional(effort) }),
  z.strictObject({ kind: z.literal("notice"), level: z.enum(["info", "warning", "error"]), text: text(4096) }),
] as const;

export const threadEvent = z.discriminatedUnion("kind", [...eventBodies]);
export type ThreadEvent = z.infer<typeof threadEvent>;

// ------------------------------------------------------------------ messages

export const appProtocol = defineAppProtocol({
  // host → device
  "host.info": z.strictObject({
    name: text(128),
    platform: text(64),
    airlockVersion: text(32),
    agent: z.strictObject({ kind: text(64), label: text(128), version: z.optional(text(64)) }),
    models: z.array(modelInfo).check(z.maxLength(64)),
    defaultModel: z.optional(text(128)),
  }),
  /** Answers threads.list. */
  "thread.list": z.strictObject({ threads: z.array(threadSummary).check(z.maxLength(1000)) }),
  /** Sent when a thread's summary changes (title, status, pending count). */
  "thread.updated": z.strictObject({ thread: threadSummary }),
  /** One event of a thread; envelope `thread` and `seq` are set. */
  event: threadEvent,
  /** Success answer to a command (envelope `re`). */
  result: z.strictObject({ data: z.optional(z.record(z.string(), z.unknown())) }),

  // device → host
  "device.hello": z.strictObject({ app: text(64), appVersion: text(32) }),
  "threads.list": z.strictObject({ includeArchived: z.optional(z.boolean()) }),
  /** Start or resume receiving a thread's events after `afterSeq` (0 = from the start). */
  "thread.subscribe": z.strictObject({ thread: id, afterSeq: seq }),
  "thread.unsubscribe": z.strictObject({ thread: id }),
  "thread.start": z.strictObject({ prompt: text(65536), model: z.optional(text(128)), effort: z.optional(effort), cwd: z.optional(text(1024)) }),
  "thread.send": z.strictObject({ thread: id, text: text(65536) }),
  "turn.steer": z.strictObject({ thread: id, text: text(65536) }),
  "turn.interrupt": z.strictObject({ thread: id }),
  "question.answer": z.strictObject({ thread: id, questionId: id, answer: text(8192), optionId: z.optional(id) }),
  "approval.decide": z.strictObject({ thread: id, approvalId: id, decision: approvalDecision, note: z.optional(text(2048)) }),
  "thread.settings": z.strictObject({ thread: id, model: z.optional(text(128)), effort: z.optional(effort) }),
  /** Pure acknowledgement carrier when a device has nothing else to send (envelope `ack`). */
  ack: z.strictObject({}),
});

export type AppProtocolMessage = ReturnType<typeof appProtocol.decode>;

/** Commands a device may send; anything else from a device is refused. */
export const DEVICE_COMMANDS = [
  "device.hello",
  "threads.list",
  "thread.subscribe",
  "thread.unsubscribe",
  "thread.start",
  "thread.send",
  "turn.steer",
  "turn.interrupt",
  "question.answer",
  "approval.decide",
  "thread.settings",
  "ack",
] as const;
export type DeviceCommandType = (typeof DEVICE_COMMANDS)[number];

/** Messages only a host sends. */
export const HOST_MESSAGES = ["host.info", "thread.list", "thread.updated", "event", "result", "error"] as const;
