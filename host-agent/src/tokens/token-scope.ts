// What an automation token may ask of the host (docs/host-agent.md, tokens).
// The host enforces it for every command, against the token list as it is now
// (a token revoked or expired since its session began is refused at once):
//   run   start threads in its workspaces; follow up on, steer, interrupt,
//         change settings of and read the threads it started
//   read  also read (list, subscribe to) any thread working in its workspaces
// Never, whatever the scope: decide an approval, answer a question, register
// for push. Those stay with people on paired devices.
import { sep } from "node:path";
import type { AppProtocolMessage, ThreadSummary } from "@airlock/protocol";
import { tokenState, type TokenGrant, type TokenRecord, type TokenStore } from "./token-store.ts";

export type TokenRefusalCode = "TOKEN_SCOPE" | "TOKEN_EXPIRED" | "TOKEN_REVOKED";

export interface TokenRefusal {
  code: TokenRefusalCode;
  message: string;
}

/** Whether `path` is `root` or inside it (both absolute, symbolic links already resolved). */
export function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Commands that name a thread the token must have started. */
const OWN_THREAD_COMMANDS = new Set(["thread.send", "turn.steer", "turn.interrupt", "thread.settings"]);
const ALWAYS = new Set(["device.hello", "ack", "device.visibility", "threads.list", "thread.unsubscribe"]);

export class TokenScopes {
  readonly #store: TokenStore;
  readonly #now: () => number;

  constructor(store: TokenStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  /** The token's record if it still works, else why not. */
  current(grant: TokenGrant): { record: TokenRecord } | TokenRefusal {
    try {
      this.#store.reload();
    } catch {
      return { code: "TOKEN_REVOKED", message: "the host cannot read its token list; ask its operator" };
    }
    const record = this.#store.byId(grant.id);
    const state = record ? tokenState(record, this.#now()) : "revoked";
    if (!record || state === "revoked") return { code: "TOKEN_REVOKED", message: `token ${grant.name} was revoked by the host's operator` };
    if (state === "expired")
      return { code: "TOKEN_EXPIRED", message: `token ${grant.name} expired at ${record.expiresAt}; ask its owner (${grant.owner}) for a new one` };
    return { record };
  }

  /** May this token read this thread (list it, subscribe to it, hear about it)? */
  canRead(record: TokenRecord, thread: ThreadSummary): boolean {
    if (record.threads.includes(thread.id)) return true;
    return record.scopes.includes("read") && thread.cwd !== undefined && record.workspaces.some((w) => isInside(thread.cwd!, w));
  }

  /** May this token start a thread in `cwd` (resolved)? */
  canStartIn(record: TokenRecord, cwd: string): boolean {
    return record.scopes.includes("run") && record.workspaces.some((w) => isInside(cwd, w));
  }

  /** Remembers a thread the token started: it may follow up on and read it. */
  recordThread(grant: TokenGrant, threadId: string): void {
    this.#store.addThread(grant.id, threadId);
  }

  /** A refusal for a command the token may not send, or undefined (thread.start's folder is checked once resolved). */
  check(grant: TokenGrant, key: string, message: AppProtocolMessage, thread: (id: string) => ThreadSummary | undefined): TokenRefusal | undefined {
    const now = this.current(grant);
    if ("code" in now) return now;
    const record = now.record;
    // A rotated token's old key: the session began with a key the token no longer has.
    if (record.key !== key) return { code: "TOKEN_REVOKED", message: `token ${grant.name} was rotated; use the new token` };
    const type = message.type;
    if (ALWAYS.has(type)) return undefined;
    const scope = (text: string): TokenRefusal => ({ code: "TOKEN_SCOPE", message: `token ${grant.name}: ${text}` });
    switch (type) {
      case "approval.decide":
        return scope("an automation token cannot decide approvals; a person decides them on a paired device");
      case "question.answer":
        return scope("an automation token cannot answer the agent's questions; a person answers them on a paired device");
      case "push.register":
      case "push.unregister":
      case "push.test":
        return scope("automation tokens do not receive push notifications");
      case "thread.start":
        return record.scopes.includes("run") ? undefined : scope('its scope does not include "run": it cannot start threads');
      case "thread.subscribe": {
        const t = thread(message.body.thread);
        if (!t) return undefined; // THREAD_NOT_FOUND, as for anyone
        return this.canRead(record, t)
          ? undefined
          : scope(`thread ${t.id} is not one it started${record.scopes.includes("read") ? " nor in its workspaces" : ""}`);
      }
      default: {
        if (!OWN_THREAD_COMMANDS.has(type)) return scope(`it cannot send ${type}`);
        if (!record.scopes.includes("run")) return scope(`its scope does not include "run": it cannot send ${type}`);
        const id = (message.body as { thread: string }).thread;
        if (!thread(id)) return undefined;
        return record.threads.includes(id) ? undefined : scope(`thread ${id} is not one it started`);
      }
    }
  }
}
