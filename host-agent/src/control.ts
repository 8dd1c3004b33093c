// Local control socket: lets `airlock pair`, `airlock devices revoke`,
// `airlock approve` and the others talk to a running `airlock up`. A Unix socket
// inside the 0700 state folder, so only this user can reach it. Newline-delimited
// JSON, one request per connection; the server may stream several replies back
// (pair: link, confirm, then the outcome) and read follow-ups (pair: answer).
//
// Both directions are a closed set of messages (ControlRequest, ControlReply)
// checked by strict, bounded schemas: the socket is local, but a parser is a
// parser. A request the server does not understand gets an error reply; a
// reply the CLI does not understand is an error for the command, never a crash.
import { existsSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { approvalDecision, approvalEvidence, riskTier } from "@airlock/protocol";
import * as s from "@airlock/protocol/schema";
import { HostError } from "./host-error.ts";
import { messageOf } from "./error-message.ts";

export const MAX_CONTROL_LINE = 64 * 1024;

export function controlSocketPath(home: string): string {
  return join(home, "agent.sock");
}

// ------------------------------------------------------------------ messages

const text = (max: number) => s.string({ max });
const millis = s.int(0, Number.MAX_SAFE_INTEGER);
const tokenEvent = s.enum(["token.created", "token.revoked", "token.rotated"]);

/** CLI → airlock up. */
export const controlRequest = s.discriminatedUnion("type", [
  s.strictObject({ type: s.literal("status") }),
  /** Asks for a pairing link; `ttl` in seconds (airlock pair --ttl). */
  s.strictObject({ type: s.literal("pair"), ttl: s.optional(s.int(1, 3600)) }),
  /** The operator's answer to a `confirm` (a follow-up on a pair connection). */
  s.strictObject({ type: s.literal("answer"), ok: s.boolean() }),
  s.strictObject({ type: s.literal("approvals") }),
  /** `id`: an approval id or an unambiguous prefix of one. */
  s.strictObject({ type: s.literal("decide"), id: text(256), decision: approvalDecision }),
  /** `id`: a device id or an unambiguous prefix of one. */
  s.strictObject({ type: s.literal("revoke"), id: text(256) }),
  /** airlock tokens changed tokens.json; `data` is the audit record's payload. */
  s.strictObject({ type: s.literal("tokens.changed"), event: tokenEvent, data: s.record(s.unknown()) }),
]);
export type ControlRequest = s.Infer<typeof controlRequest>;

const pendingApproval = s.strictObject({
  approvalId: text(256),
  threadId: text(256),
  type: s.enum(["command", "file_change", "permission"]),
  tier: riskTier,
  rule: text(256),
  where: s.enum(["any-device", "host-only"]),
  evidence: approvalEvidence,
  options: s.array(approvalDecision, { max: 3 }),
  createdAt: millis,
  expiresAt: millis,
});
const pendingQuestion = s.strictObject({
  questionId: text(256),
  threadId: text(256),
  text: text(8192),
  options: s.optional(s.array(s.strictObject({ id: text(1024), label: text(1024) }), { max: 64 })),
  createdAt: millis,
  expiresAt: millis,
});
const relayOutcome = { relayUpdated: s.boolean(), relayError: s.optional(text(4096)) };

/** airlock up → CLI. */
export const controlReply = s.discriminatedUnion("type", [
  s.strictObject({
    type: s.literal("status"),
    room: text(256),
    relayUrl: text(2048),
    devices: s.array(s.strictObject({ slot: s.int(0, 0xffff), id: text(256), name: text(1024) }), { max: 1024 }),
  }),
  s.strictObject({ type: s.literal("link"), link: text(8192), expiresAt: millis }),
  /** A device asks to pair: show its name and SAS, then send an `answer`. */
  s.strictObject({ type: s.literal("confirm"), deviceName: text(1024), deviceId: text(256), sas: text(64) }),
  s.strictObject({ type: s.literal("paired"), deviceName: text(1024), deviceId: text(256) }),
  s.strictObject({ type: s.literal("rejected") }),
  s.strictObject({ type: s.literal("expired") }),
  s.strictObject({ type: s.literal("approvals"), approvals: s.array(pendingApproval, { max: 10_000 }), questions: s.array(pendingQuestion, { max: 10_000 }) }),
  s.strictObject({ type: s.literal("decided"), approvalId: text(256), decision: approvalDecision, thread: text(256) }),
  s.strictObject({ type: s.literal("revoked"), id: text(256), name: text(1024), ...relayOutcome }),
  s.strictObject({ type: s.literal("tokens.changed"), closed: s.int(0, 1_000_000), ...relayOutcome }),
  /** `code` NOT_PENDING: no (or no single) waiting request matches a decide. */
  s.strictObject({ type: s.literal("error"), message: text(8192), code: s.optional(s.enum(["NOT_PENDING"])) }),
]);
export type ControlReply = s.Infer<typeof controlReply>;

/** Checks a request line (already JSON); when it is no ControlRequest, the message for the error reply says why. */
export function parseControlRequest(value: unknown): { ok: true; request: ControlRequest } | { ok: false; message: string } {
  const r = controlRequest.safeParse(value);
  if (r.success) return { ok: true, request: r.data };
  const type = (value as { type?: unknown } | null)?.type;
  const unknownType = r.error.issues.length === 1 && r.error.issues[0]!.path.join(".") === "type";
  if (unknownType && typeof type === "string") return { ok: false, message: `unknown request ${type.slice(0, 64)}` };
  return { ok: false, message: `bad control request: ${r.error.message.slice(0, 1024)}` };
}

/** What to say about a reply that is not the one a command waited for: its error message, or its type. */
export function replyError(m: ControlReply): string {
  return m.type === "error" ? m.message : `airlock up answered "${m.type}" unexpectedly`;
}

/** A reply airlock up sent that this CLI cannot read (another version, or a bug). */
export class ControlProtocolError extends HostError<"CONTROL_PROTOCOL"> {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONTROL_PROTOCOL", message, options);
    this.name = "ControlProtocolError";
  }
}

// ------------------------------------------------------------------ server

/** Serves control requests. `handle` gets each request and a way to answer (possibly several times). */
export function serveControl(
  path: string,
  handle: (request: ControlRequest, reply: (m: ControlReply) => void, incoming: AsyncIterable<ControlRequest>) => Promise<void>,
): Promise<Server> {
  if (existsSync(path)) unlinkSync(path); // a stale socket from a crashed run
  const server = createServer((socket) => {
    const lines = lineReader(socket);
    const reply = (m: ControlReply) => {
      if (!socket.destroyed) socket.write(JSON.stringify(m) + "\n");
    };
    // Follow-ups: a message that is no request ends them (the handler sees the client go away).
    const followUps: AsyncIterator<ControlRequest> = {
      async next() {
        const line = await lines.next();
        if (line.done) return line;
        const parsed = parseControlRequest(line.value);
        return parsed.ok ? { value: parsed.request, done: false } : { value: undefined, done: true };
      },
    };
    (async () => {
      const first = await lines.next();
      if (first.done) return socket.end();
      const parsed = parseControlRequest(first.value);
      if (!parsed.ok) reply({ type: "error", message: parsed.message });
      else {
        try {
          await handle(parsed.request, reply, { [Symbol.asyncIterator]: () => followUps });
        } catch (e) {
          reply({ type: "error", message: messageOf(e).slice(0, 8192) });
        }
      }
      socket.end();
    })().catch(() => socket.destroy()); // nothing here may take the host down
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve(server));
  });
}

// ------------------------------------------------------------------ client

export interface ControlConnection {
  send(m: ControlRequest): void;
  /** The replies, checked; one that is no ControlReply throws ControlProtocolError. */
  messages: AsyncIterator<ControlReply>;
  close(): void;
}

/** Opens a control connection; null when no `airlock up` is listening. */
export async function connectControl(path: string): Promise<ControlConnection | null> {
  if (!existsSync(path)) return null;
  const socket = createConnection(path);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
  } catch {
    return null;
  }
  const lines = lineReader(socket);
  return {
    send: (m) => socket.write(JSON.stringify(m) + "\n"),
    messages: {
      async next() {
        const line = await lines.next();
        if (line.done) return line;
        const r = controlReply.safeParse(line.value);
        if (!r.success)
          throw new ControlProtocolError(`airlock up sent a reply this airlock cannot read (${r.error.message.slice(0, 300)}); is it another version?`);
        return { value: r.data, done: false };
      },
    },
    close: () => socket.end(),
  };
}

// ------------------------------------------------------------------ framing

/** Parses newline-delimited JSON from a socket, bounded per line; a line that is not JSON closes the connection. */
function lineReader(socket: Socket): AsyncIterator<unknown> {
  let buffer = "";
  const queue: unknown[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    if (buffer.length > MAX_CONTROL_LINE && !buffer.includes("\n")) {
      socket.destroy();
      return;
    }
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        queue.push(JSON.parse(line) as unknown);
      } catch {
        socket.destroy();
      }
    }
    wake?.();
  });
  const finish = () => {
    ended = true;
    wake?.();
  };
  socket.on("end", finish);
  socket.on("close", finish);
  socket.on("error", finish);
  return {
    async next() {
      for (;;) {
        if (queue.length > 0) return { value: queue.shift(), done: false };
        if (ended) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
  };
}
