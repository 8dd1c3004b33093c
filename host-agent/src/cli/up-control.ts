// What a running `airlock up` answers on its control socket (control.ts):
// status, pairing with the operator's answer, the approvals waiting and host
// decisions on them, device revocation, and token changes from `airlock tokens`.
import type { AppServer } from "../app-server.ts";
import type { AuditActor } from "../audit/audit-log.ts";
import type { ControlReply, ControlRequest } from "../control.ts";
import type { HostCore, PairingRequest } from "../host-core.ts";

export interface UpControlOptions {
  room: string;
  relayUrl: string;
  core: HostCore;
  app: AppServer;
  audit: (type: string, actor: AuditActor, data: Record<string, unknown>) => void;
  /** The command that reaches this host's CLI, for hints in replies. */
  hostCli: string;
  /** While `airlock pair` waits, pairings are confirmed through it (undefined again when it is done). */
  setPairingWaiter: (waiter: ((request: PairingRequest) => Promise<boolean>) | undefined) => void;
}

export function upControlHandler(o: UpControlOptions) {
  return async (request: ControlRequest, reply: (m: ControlReply) => void, incoming: AsyncIterable<ControlRequest>): Promise<void> => {
    switch (request.type) {
      case "status":
        reply({
          type: "status",
          room: o.room,
          relayUrl: o.relayUrl,
          devices: o.core.connections.map((c) => ({ slot: c.slot, id: c.device.id, name: c.device.name })),
        });
        return;
      case "pair": {
        const pairing = await o.core.createPairing(request.ttl);
        reply({ type: "link", link: pairing.link, expiresAt: pairing.expiresAt });
        const answers = incoming[Symbol.asyncIterator]();
        const outcome = await new Promise<ControlReply>((resolve) => {
          const timer = setTimeout(() => resolve({ type: "expired" }), Math.max(0, pairing.expiresAt * 1000 - Date.now()) + 5000);
          o.setPairingWaiter(async (req) => {
            reply({ type: "confirm", ...req });
            const answer = await answers.next();
            const ok = !answer.done && answer.value.type === "answer" && answer.value.ok;
            clearTimeout(timer);
            resolve(ok ? { type: "paired", deviceName: req.deviceName, deviceId: req.deviceId } : { type: "rejected" });
            return ok;
          });
        });
        o.setPairingWaiter(undefined);
        reply(outcome);
        return;
      }
      case "approvals":
        reply({ type: "approvals", approvals: o.app.broker.pendingApprovals(), questions: o.app.broker.pendingQuestions() });
        return;
      case "decide": {
        const prefix = request.id;
        const matches = o.app.broker.pendingApprovals().filter((p) => p.approvalId.startsWith(prefix));
        if (matches.length !== 1) {
          reply({
            type: "error",
            code: "NOT_PENDING",
            message:
              matches.length === 0
                ? `no waiting request ${prefix} (see ${o.hostCli} approvals)`
                : `${prefix} matches ${matches.length} requests; give more characters`,
          });
          return;
        }
        const p = o.app.broker.decide(matches[0]!.approvalId, request.decision, { kind: "host" });
        reply({ type: "decided", approvalId: p.approvalId, decision: request.decision, thread: p.threadId });
        return;
      }
      case "tokens.changed": {
        // airlock tokens changed tokens.json: enforce it now, and audit it here (the one writer of the audit log).
        const outcome = await o.core.tokensChanged();
        o.audit(request.event, { kind: "host" }, request.data);
        reply({ type: "tokens.changed", ...outcome });
        return;
      }
      case "revoke": {
        const { device, relayUpdated, relayError } = await o.core.revoke(request.id);
        reply({ type: "revoked", id: device.id, name: device.name, relayUpdated, ...(relayError ? { relayError } : {}) });
        return;
      }
      case "answer":
        // Only meaningful as a follow-up on a pair connection.
        reply({ type: "error", message: "unknown request answer" });
        return;
    }
  };
}
