// The plaintext of a push message (docs/protocol.md §10.6). The host encrypts
// it to the device's push subscription (RFC 8291, web-push.ts); the relay and
// the push service see only ciphertext. The device's service worker (or a
// native app's notification extension) decrypts it — the browser does that
// for Web Push — and shows a notification from these fields.
//
// Privacy by default: unless the device opted in to details, the host puts no
// command, tier or thread title in it, only the kind of event and the host's
// name ("Approval needed on mac-mini").
//
// Encoded as UTF-8 JSON of at most MAX_PUSH_PAYLOAD_BYTES, so that with the
// RFC 8291 overhead (86 bytes) and padding it stays under the 4096-byte limit.
import * as s from "./schema.ts";
import { approvalDecision, pushKind, riskTier } from "./app-protocol.ts";
import { strictTextDecoder, textEncoder } from "./bytes.ts";

export const MAX_PUSH_PAYLOAD_BYTES = 3072;

const id = s.string({ regex: /^[A-Za-z0-9_.:-]{1,128}$/ });

export const pushPayload = s.strictObject({
  v: s.literal(1),
  /**
   * "request": an approval or question waits for a human (kind says which).
   * "resolved": that request was decided or answered (elsewhere): replace the
   *   notification, do not alert.
   * "turn": a turn finished or failed (kind "turn").
   * "test": the device asked for a test push.
   */
  type: s.enum(["request", "resolved", "turn", "test"]),
  kind: s.optional(pushKind),
  /** The host: its room id (the SDK's host id) and its name as the host reports it. */
  host: s.strictObject({ id: s.string({ regex: /^[A-Za-z0-9_-]{22}$/ }), name: s.string({ max: 128 }) }),
  thread: s.optional(id),
  approvalId: s.optional(id),
  questionId: s.optional(id),
  /** Notification tag: one notification per thread (a newer one replaces it). */
  tag: s.string({ regex: /^[A-Za-z0-9_.:-]{1,160}$/ }),
  /**
   * The decisions a notification may offer as actions (approve from the lock
   * screen): only for steer/continue-tier approvals any device may decide.
   * Absent: open the app to decide.
   */
  actions: s.optional(s.array(approvalDecision, { max: 2 })),
  /** turn: how it ended. resolved: the decision ("answered" for a question). */
  outcome: s.optional(s.enum(["completed", "failed", "interrupted", ...s.enumValues(approvalDecision), "cancel", "answered"])),
  /** resolved: who decided (a device name, "policy", "host", "timeout"). */
  by: s.optional(s.string({ max: 128 })),
  /** Only when the device opted in to details: the thread's title, the exact action, the tier. */
  details: s.optional(
    s.strictObject({
      title: s.optional(s.string({ max: 200 })),
      action: s.optional(s.string({ max: 1024 })),
      tier: s.optional(riskTier),
    }),
  ),
  /** When the host sent it (unix ms). */
  at: s.int(0, Number.MAX_SAFE_INTEGER),
});
export type PushPayload = s.Infer<typeof pushPayload>;

export function encodePushPayload(payload: PushPayload): Uint8Array {
  const bytes = textEncoder.encode(JSON.stringify(pushPayload.parse(payload)));
  if (bytes.length > MAX_PUSH_PAYLOAD_BYTES) throw new RangeError(`push payload of ${bytes.length} bytes is over ${MAX_PUSH_PAYLOAD_BYTES}`);
  return bytes;
}

/** Strict: throws on anything that is not a valid payload (a service worker shows a generic text then). */
export function decodePushPayload(bytes: Uint8Array): PushPayload {
  if (bytes.length > MAX_PUSH_PAYLOAD_BYTES) throw new RangeError("push payload too large");
  return pushPayload.parse(JSON.parse(strictTextDecoder.decode(bytes)));
}
