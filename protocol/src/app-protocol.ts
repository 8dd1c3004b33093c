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
import * as s from "./schema.ts";
import { defineAppProtocol, type AppEnvelope } from "./app-envelope.ts";

const text = /* @__NO_SIDE_EFFECTS__ */ (max: number) => s.string({ max });
const id = s.string({ regex: /^[A-Za-z0-9_.:-]{1,128}$/ });
const seq = s.int(0, Number.MAX_SAFE_INTEGER);
const millis = s.int(0, Number.MAX_SAFE_INTEGER);

// ------------------------------------------------------------------ shared

export const riskTier = s.enum(["steer", "continue", "expand", "commit"]);
/** The risk tiers, lowest first. */
export const RISK_TIERS = /* @__PURE__ */ s.enumValues(riskTier);
export const effort = s.enum(["minimal", "low", "medium", "high", "xhigh"]);
/** The risk tier of an action (docs/protocol.md): steer < continue < expand < commit. */
export type RiskTier = s.Infer<typeof riskTier>;
/** How hard the model thinks. */
export type Effort = s.Infer<typeof effort>;

export const modelInfo = s.strictObject({
  id: text(128),
  name: text(128),
  efforts: s.array(effort, { max: 8 }),
  defaultEffort: s.optional(effort),
});
export type ModelInfo = s.Infer<typeof modelInfo>;

export const threadStatus = s.enum(["idle", "running", "waiting", "failed", "archived"]);

export const threadSummary = s.strictObject({
  id,
  title: text(200),
  status: threadStatus,
  createdAt: millis,
  updatedAt: millis,
  cwd: s.optional(text(1024)),
  model: s.optional(text(128)),
  effort: s.optional(effort),
  /** The thread's newest event seq. */
  lastSeq: seq,
  /** Requests waiting for a human in this thread. */
  pending: s.int(0, 10_000),
  /** Started by an automation token: "NAME (owner OWNER)" (docs/host-agent.md, tokens). */
  startedBy: s.optional(text(160)),
});
export type ThreadSummary = s.Infer<typeof threadSummary>;

/** Everything a reviewer needs to decide on an approval from a small screen. */
export const approvalEvidence = s.strictObject({
  /** The exact action: the command line, or the files and operation. */
  action: text(8192),
  reason: s.optional(text(4096)),
  host: text(256),
  cwd: text(1024),
  filesChanged: s.array(text(1024), { max: 500 }),
  checksRun: s.array(s.strictObject({ name: text(512), status: s.enum(["passed", "failed", "running", "unknown"]) }), { max: 100 }),
  sideEffects: s.optional(text(4096)),
  flags: s.strictObject({ network: s.boolean(), credentials: s.boolean(), externalTools: s.boolean(), writes: s.boolean() }),
  next: s.optional(text(4096)),
});
export type ApprovalEvidence = s.Infer<typeof approvalEvidence>;

export const approvalDecision = s.enum(["approve_once", "approve_session", "deny"]);
/** A device's answer to an approval request. */
export type ApprovalDecision = s.Infer<typeof approvalDecision>;

// ------------------------------------------------------------------ push (docs/protocol.md §10.6)

/** What may wake a device: approval requests, questions, finished or failed turns. */
// Pure calls around these: schema calls through the `s` namespace are not known to esbuild as
// side-effect free, and a bundle that never uses them (the client SDK's core) should drop them.
export const pushKind = /* @__PURE__ */ (() => s.enum(["approval", "question", "turn"]))();
export type PushKind = s.Infer<typeof pushKind>;

/**
 * A Web Push subscription (PushSubscription.toJSON()): the push service's
 * endpoint and the keys the host encrypts to (RFC 8291). The endpoint is a URL
 * the relay POSTs to; it must be https (http only on loopback, for tests).
 */
export const pushSubscription = /* @__PURE__ */ (() =>
  s.strictObject({
    endpoint: s.string({ max: 2048, regex: /^https:\/\/[^\s/?#]+\/[^\s]*$|^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/[^\s]*$/ }),
    /** The subscription's P-256 public key, uncompressed (65 bytes), base64url. */
    p256dh: s.string({ regex: /^[A-Za-z0-9_-]{87}$/ }),
    /** The subscription's 16-byte auth secret, base64url. */
    auth: s.string({ regex: /^[A-Za-z0-9_-]{22}$/ }),
  }))();
export type PushSubscriptionKeys = s.Infer<typeof pushSubscription>;

// ------------------------------------------------------------------ thread events

const eventBodies = [
  s.strictObject({
    kind: s.literal("turn.status"),
    turnId: id,
    status: s.enum(["started", "completed", "interrupted", "failed"]),
    error: s.optional(text(2048)),
  }),
  s.strictObject({ kind: s.literal("message.user"), itemId: id, text: text(65536), device: s.optional(text(64)) }),
  s.strictObject({ kind: s.literal("message.delta"), itemId: id, text: text(65536) }),
  s.strictObject({ kind: s.literal("message.completed"), itemId: id, text: text(262144) }),
  /** The agent's reasoning summary so far; a later event with the same itemId replaces it. */
  s.strictObject({ kind: s.literal("reasoning"), itemId: id, text: text(65536) }),
  s.strictObject({ kind: s.literal("command.started"), itemId: id, command: text(8192), cwd: text(1024) }),
  s.strictObject({ kind: s.literal("command.output"), itemId: id, stream: s.enum(["stdout", "stderr"]), chunk: text(65536) }),
  s.strictObject({ kind: s.literal("command.finished"), itemId: id, exitCode: s.nullable(s.int()), durationMs: millis }),
  s.strictObject({
    kind: s.literal("file.change"),
    itemId: id,
    path: text(1024),
    change: s.enum(["add", "modify", "delete", "rename"]),
    oldPath: s.optional(text(1024)),
    /** Unified diff. */
    diff: text(262144),
  }),
  /** Everything the turn changed, as one unified diff, sent as the turn ends (a later one for the turn replaces it). */
  s.strictObject({ kind: s.literal("turn.diff"), turnId: id, diff: text(262144) }),
  s.strictObject({
    kind: s.literal("plan.update"),
    steps: s.array(s.strictObject({ text: text(1024), status: s.enum(["pending", "in_progress", "completed"]) }), { max: 100 }),
  }),
  s.strictObject({
    kind: s.literal("test.result"),
    itemId: id,
    name: text(512),
    status: s.enum(["passed", "failed", "skipped"]),
    summary: s.optional(text(8192)),
  }),
  /**
   * A tool the agent called other than a command or a file change (web search, an MCP
   * server's tool, image generation, viewing an image); a later event with the same
   * itemId replaces it (progress, then the result).
   */
  s.strictObject({
    kind: s.literal("tool.call"),
    itemId: id,
    /** "web_search", "image_generation", "view_image", or "mcp:<server>/<tool>". */
    name: text(512),
    status: s.enum(["running", "completed", "failed"]),
    /** The query, arguments (JSON) or path, as the agent gave them. */
    input: s.optional(text(8192)),
    /** The result, the error, or the latest progress message while running. */
    output: s.optional(text(65536)),
  }),
  s.strictObject({
    kind: s.literal("image"),
    itemId: id,
    mime: s.enum(["image/png", "image/jpeg", "image/webp"]),
    /** Images travel in base64 chunks of at most 192 KiB of text. */
    chunk: s.int(0, 255),
    chunks: s.int(1, 256),
    data: text(196608),
  }),
  s.strictObject({ kind: s.literal("usage"), inputTokens: s.int(), outputTokens: s.int(), totalTokens: s.optional(s.int()) }),
  s.strictObject({
    kind: s.literal("approval.request"),
    approvalId: id,
    type: s.enum(["command", "file_change", "permission"]),
    tier: riskTier,
    /** The policy rule that classified it. */
    rule: text(256),
    /** "any-device": any paired device may decide; "host-only": only the host's terminal. */
    where: s.enum(["any-device", "host-only"]),
    evidence: approvalEvidence,
    /** type "file_change": the unified diff of what will be written, when the agent gave it. */
    diff: s.optional(text(262144)),
    options: s.array(approvalDecision, { min: 1, max: 3 }),
    expiresAt: s.optional(millis),
    /**
     * where "host-only": the command that runs the host's airlock CLI in a shell on the host, with its
     * state folder (e.g. "npx airlock --home .dev/host"); `<hostCli> approve|deny <approvalId>` decides.
     */
    hostCli: s.optional(text(512)),
    /** The thread was started by an automation token: "NAME (owner OWNER)"; a person decides. */
    startedBy: s.optional(text(160)),
  }),
  s.strictObject({
    kind: s.literal("approval.resolved"),
    approvalId: id,
    /**
     * An ApprovalDecision, or "cancel": the request went away undecided. Spelled out rather than
     * spread from approvalDecision (the spread costs 7 B gzipped, over the React Native core's budget); the type
     * requires exactly approvalDecision's values, in order, then "cancel".
     */
    decision: s.enum(["approve_once", "approve_session", "deny", "cancel"] as const satisfies readonly [...(typeof approvalDecision.def)[1], "cancel"]),
    /** Who decided: a device name, "policy", "host" or "timeout". */
    by: text(128),
    note: s.optional(text(2048)),
  }),
  s.strictObject({
    kind: s.literal("question"),
    questionId: id,
    text: text(8192),
    options: s.optional(s.array(s.strictObject({ id, label: text(512) }), { max: 20 })),
    /** The thread was started by an automation token: "NAME (owner OWNER)"; a person answers. */
    startedBy: s.optional(text(160)),
  }),
  s.strictObject({ kind: s.literal("question.answered"), questionId: id, by: text(128) }),
  s.strictObject({ kind: s.literal("settings"), model: s.optional(text(128)), effort: s.optional(effort) }),
  s.strictObject({ kind: s.literal("notice"), level: s.enum(["info", "warning", "error"]), text: text(4096) }),
] as const;

export const threadEvent = s.discriminatedUnion("kind", [...eventBodies]);
export type ThreadEvent = s.Infer<typeof threadEvent>;

// ------------------------------------------------------------------ messages

/** Bodies of host → device messages (a device validates every one it receives). */
const hostMessageBodies = {
  "host.info": s.strictObject({
    name: text(128),
    platform: text(64),
    airlockVersion: text(32),
    agent: s.strictObject({ kind: text(64), label: text(128), version: s.optional(text(64)) }),
    models: s.array(modelInfo, { max: 64 }),
    defaultModel: s.optional(text(128)),
    /**
     * What this host and its agent can do beyond the base protocol, so apps
     * hide what is missing: "push" (push.register and friends), … Unknown
     * entries are ignored.
     */
    capabilities: s.optional(s.array(s.string({ regex: /^[a-z][a-z0-9_.-]{0,63}$/ }), { max: 32 })),
  }),
  /** Answers threads.list. */
  "thread.list": s.strictObject({ threads: s.array(threadSummary, { max: 1000 }) }),
  /** Sent when a thread's summary changes (title, status, pending count). */
  "thread.updated": s.strictObject({ thread: threadSummary }),
  /** One event of a thread; envelope `thread` and `seq` are set. */
  event: threadEvent,
  /** Success answer to a command (envelope `re`). */
  result: s.strictObject({ data: s.optional(s.record(s.unknown())) }),
};

/**
 * Bodies of device → host commands (the host validates every one it
 * receives). Built in a pure call: the client SDK encodes commands without
 * them (deviceAppProtocol), so its bundle drops them.
 */
const deviceCommandBodies = /* @__PURE__ */ (() => ({
  "device.hello": s.strictObject({ app: text(64), appVersion: text(32) }),
  "threads.list": s.strictObject({ includeArchived: s.optional(s.boolean()) }),
  /** Start or resume receiving a thread's events after `afterSeq` (0 = from the start). */
  "thread.subscribe": s.strictObject({ thread: id, afterSeq: seq }),
  "thread.unsubscribe": s.strictObject({ thread: id }),
  "thread.start": s.strictObject({ prompt: text(65536), model: s.optional(text(128)), effort: s.optional(effort), cwd: s.optional(text(1024)) }),
  "thread.send": s.strictObject({ thread: id, text: text(65536) }),
  "turn.steer": s.strictObject({ thread: id, text: text(65536) }),
  "turn.interrupt": s.strictObject({ thread: id }),
  "question.answer": s.strictObject({ thread: id, questionId: id, answer: text(8192), optionId: s.optional(id) }),
  "approval.decide": s.strictObject({ thread: id, approvalId: id, decision: approvalDecision, note: s.optional(text(2048)) }),
  "thread.settings": s.strictObject({ thread: id, model: s.optional(text(128)), effort: s.optional(effort) }),
  /** Pure acknowledgement carrier when a device has nothing else to send (envelope `ack`); never answered. */
  ack: s.strictObject({}),
  /**
   * Registers (or replaces) this device's push subscription with this host,
   * with what may wake it and whether the lock screen may show details.
   */
  "push.register": s.strictObject({ subscription: pushSubscription, kinds: s.array(pushKind, { max: 3 }), details: s.boolean() }),
  /** Forgets this device's push subscription on this host. */
  "push.unregister": s.strictObject({}),
  /** Asks the host to send this device a test push now. */
  "push.test": s.strictObject({}),
  /**
   * Whether the app is in the foreground: a visible device subscribed to a
   * thread is "looking at it" and gets no push for it. Sent on every change.
   */
  "device.visibility": s.strictObject({ visible: s.boolean() }),
}))();

/** The body schema of every message type but `error` (app-envelope.ts errorBodySchema). */
export const appMessageBodies = /* @__PURE__ */ (() => ({ ...hostMessageBodies, ...deviceCommandBodies }))();

/** Both directions, every body checked: what hosts (and tests) use. */
export const appProtocol = /* @__PURE__ */ defineAppProtocol(appMessageBodies);

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
  "push.register",
  "push.unregister",
  "push.test",
  "device.visibility",
] as const;
export type DeviceCommandType = (typeof DEVICE_COMMANDS)[number];
/** The body of device command T, as the host checks it (a type only: the device's bundle keeps none of these schemas). */
export type DeviceCommandBody<T extends DeviceCommandType> = s.Infer<(typeof deviceCommandBodies)[T]>;

/** Messages only a host sends. */
export const HOST_MESSAGES = ["host.info", "thread.list", "thread.updated", "event", "result", "error"] as const;

/**
 * The device's side: every host message it receives is checked in full; the
 * commands it sends only as an envelope with an object body (the host checks
 * them strictly and answers APP_MESSAGE_INVALID). Its decode is typed like
 * appProtocol's; its encode takes any type and an unchecked body, as it does.
 */
export type DeviceAppProtocol = Pick<typeof appProtocol, "types" | "decode"> & {
  encode(message: Omit<AppEnvelope, "v" | "body"> & { body: unknown }): Uint8Array;
};
// The cast widens encode to what encodeAny accepts (the built object is typed by hostMessageBodies only).
export const deviceAppProtocol = defineAppProtocol(hostMessageBodies, undefined, true) as unknown as DeviceAppProtocol;
