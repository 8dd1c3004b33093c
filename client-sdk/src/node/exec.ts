// Running one job with an automation token (docs/client-sdk.md, "Automation
// tokens"): connect to the token's host through its relay as the token's
// device identity (no pairing: the token is a pre-trusted host entry plus the
// identity), start a thread with the prompt, stream its events, and report how
// the turn ended. Node only: token parsing stays out of the budgeted core.
import { roomIdFor, toBase64Url, type Effort } from "@airlock/protocol";
import { AutomationTokenError, parseAutomationToken, type AutomationToken } from "@airlock/protocol/automation-token";
import { AirlockClient } from "../client-web.ts";
import { AirlockClientError, toClientError } from "../errors.ts";
import type { HostConnection } from "../host-connection.ts";
import { HOSTS_KEY, type TrustedHost } from "../hosts.ts";
import { IDENTITY_KEY, type StoredIdentity } from "../identity.ts";
import { MemoryStore } from "../store.ts";
import type { SeqEvent } from "../thread-subscription.ts";
import type { WebSocketConstructor } from "../websocket.ts";

/** How a job ended; `airlock-client exec` turns each into an exit code (EXEC_EXIT). */
export type JobOutcome = "completed" | "failed" | "interrupted" | "denied" | "timed_out";

/** Exit codes of `airlock-client exec` (docs/client-sdk.md). */
export const EXEC_EXIT = {
  completed: 0,
  failed: 1,
  usage: 2,
  unreachable: 4,
  /** The token is expired, revoked or rotated (the relay or the host refused it). */
  token: 6,
  interrupted: 8,
  /** The host refused the job (out of the token's scope, a hook) or a person denied one of the agent's requests. */
  denied: 9,
  timed_out: 10,
} as const;

export interface JobOptions {
  /** The token string (airlock_tok_…). Pass it from a secret store; never log it. */
  token: string;
  prompt: string;
  /** A folder inside one of the token's workspaces (default: its first workspace). */
  cwd?: string;
  model?: string;
  effort?: Effort;
  /** Give up after this long (default: no limit): the turn is interrupted and the outcome is "timed_out". */
  timeoutMs?: number;
  /** Each event of the job's thread, in order. */
  onEvent?(event: SeqEvent & { thread: string }): void;
  /** The thread exists (before its first event is reported). */
  onThread?(thread: string): void;
  WebSocket?: WebSocketConstructor;
  /** Stop waiting (e.g. SIGINT): the turn is interrupted and the outcome is "interrupted". */
  signal?: AbortSignal;
  /** Connection attempts give up after this long without a session (default 30 s). */
  connectTimeoutMs?: number;
  now?: () => number;
}

export interface JobResult {
  outcome: JobOutcome;
  thread?: string;
  /** Why, for every outcome but "completed": the turn's error, the denial, the refusal. */
  reason?: string;
  /** The host's or the SDK's error code behind a refusal (TOKEN_SCOPE, HOOK_DENIED, …). */
  code?: string;
}

/** Reads a token strictly; the error never repeats the token's text. */
export function readToken(text: string, now = Date.now()): AutomationToken {
  let token: AutomationToken;
  try {
    token = parseAutomationToken(text);
  } catch (e) {
    if (e instanceof AutomationTokenError) throw new AirlockClientError("TOKEN_INVALID", e.message);
    throw e;
  }
  if (token.expiresAt <= now) {
    throw new AirlockClientError(
      "TOKEN_EXPIRED",
      `the token "${token.name}" expired at ${new Date(token.expiresAt).toISOString()}; ask its owner for a new one (airlock tokens rotate on the host)`,
    );
  }
  return token;
}

/** A client whose whole state is the token: its identity and the one host it trusts. Nothing is written to disk. */
async function clientFor(token: AutomationToken, ws: WebSocketConstructor | undefined): Promise<{ client: AirlockClient; hostId: string }> {
  const store = new MemoryStore();
  const hostId = roomIdFor(token.hostPublicKey);
  const host: TrustedHost = { id: hostId, name: "host", relayUrl: token.relayUrl, publicKey: toBase64Url(token.hostPublicKey), pairedAt: 0 };
  await store.set(IDENTITY_KEY, { v: 1, kind: "seed", seed: toBase64Url(token.seed) } satisfies StoredIdentity);
  await store.set(HOSTS_KEY, [host]);
  const client = await AirlockClient.create({ store, persist: false, deviceName: token.name, ...(ws ? { WebSocket: ws } : {}) });
  return { client, hostId };
}

const TOKEN_REFUSED = new Set(["TOKEN_EXPIRED", "TOKEN_REVOKED", "DEVICE_REVOKED", "RELAY_REFUSED"]);

/** Waits for an open session; a refused token fails at once (a trusted phone would keep retrying). */
function online(conn: HostConnection, timeoutMs: number): Promise<void> {
  if (conn.state === "online") return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const finish = (error?: AirlockClientError) => {
      clearTimeout(timer);
      offState();
      offError();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => {
      const offline = conn.state === "host-offline";
      finish(
        conn.error ??
          new AirlockClientError(
            offline ? "HOST_OFFLINE" : "TIMEOUT",
            offline ? "the host is offline (airlock up is not running there)" : "could not reach the host in time",
          ),
      );
    }, timeoutMs);
    const offState = conn.on("state", (s) => {
      if (s === "online") finish();
      else if (s === "refused") finish(conn.error ?? new AirlockClientError("DEVICE_REVOKED", "the host refused the token"));
    });
    const offError = conn.on("error", (e) => {
      if (e.code === "RELAY_REFUSED" || e.code === "DEVICE_REVOKED") {
        finish(
          new AirlockClientError("TOKEN_REVOKED", "the relay refused the token: it was revoked or rotated on the host, or it expired", {
            ...(e.closeCode !== undefined ? { closeCode: e.closeCode } : {}),
            cause: e,
          }),
        );
      }
    });
  });
}

/** Runs one job: start a thread with the prompt, follow it until its turn ends. */
export async function runJob(options: JobOptions): Promise<JobResult> {
  const now = options.now ?? Date.now;
  const token = readToken(options.token, now());
  const { client, hostId } = await clientFor(token, options.WebSocket);
  let thread: string | undefined;
  let conn: HostConnection | undefined;
  // Deadline and abort both end the wait; each says which outcome it means.
  let stop: (outcome: "timed_out" | "interrupted") => void = () => {};
  const stopped = new Promise<"timed_out" | "interrupted">((resolve) => (stop = resolve));
  const timer = options.timeoutMs !== undefined ? setTimeout(() => stop("timed_out"), options.timeoutMs) : undefined;
  const onAbort = () => stop("interrupted");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  // A token that stops working mid-job (revoked, expired): the connection says so and the job ends.
  let refused: (e: AirlockClientError) => void = () => {};
  const refusal = new Promise<AirlockClientError>((resolve) => (refused = resolve));
  // Raced against each wait below; handled here so a refusal after the job ended is not an unhandled rejection.
  const refusedFail = refusal.then((e): never => {
    throw e;
  });
  refusedFail.catch(() => undefined);
  try {
    conn = client.connect(hostId);
    conn.on("error", (e) => {
      if (e.code !== "RELAY_REFUSED" && e.code !== "DEVICE_REVOKED") return;
      // The relay closes an expired token's connection: say so when the token's own expiry has passed.
      refused(
        now() >= token.expiresAt
          ? new AirlockClientError(
              "TOKEN_EXPIRED",
              `the token "${token.name}" expired at ${new Date(token.expiresAt).toISOString()} during the job; ask its owner for a new one`,
            )
          : new AirlockClientError("TOKEN_REVOKED", "the relay or the host refused the token mid-job: it was revoked or rotated on the host"),
      );
    });
    const connected = online(conn, options.connectTimeoutMs ?? 30_000).then(() => "online" as const);
    connected.catch(() => undefined); // it may fail after a stop won the race
    const ready = await Promise.race([connected, stopped]);
    if (ready !== "online")
      return { outcome: ready, reason: ready === "timed_out" ? "timed out before the host answered" : "stopped before the host answered" };
    let started: { thread: string } | JobOutcome;
    try {
      const start = conn.startThread({
        prompt: options.prompt,
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        ...(options.model !== undefined ? { model: options.model } : {}),
        ...(options.effort !== undefined ? { effort: options.effort } : {}),
      });
      start.catch(() => undefined); // it may fail (closed) after a stop won the race
      started = await Promise.race([start, stopped, refusedFail]);
    } catch (e) {
      const error = toClientError(e);
      if (TOKEN_REFUSED.has(error.code)) throw error;
      // The host said no to the job itself: out of scope, a hook, a bad folder or model.
      if (error.remote) return { outcome: "denied", reason: error.message, code: error.code };
      throw error;
    }
    if (typeof started === "string")
      return { outcome: started, reason: started === "timed_out" ? "timed out before the thread started" : "stopped before the thread started" };
    thread = started.thread;
    options.onThread?.(thread);
    const sub = conn.subscribe(thread);
    const iterator = sub[Symbol.asyncIterator]();
    let denial: string | undefined;
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), stopped, refusedFail]);
        if (typeof next === "string") {
          // Stop the agent's work too: a job that is given up must not keep running on the host.
          await Promise.race([conn.interrupt(thread).catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
          return {
            outcome: next,
            thread,
            reason:
              next === "timed_out"
                ? `no end of the turn within ${Math.round((options.timeoutMs ?? 0) / 1000)} s; the turn was interrupted`
                : "stopped; the turn was interrupted",
          };
        }
        if (next.done) return { outcome: "failed", thread, reason: "the event stream ended" };
        const item = next.value;
        options.onEvent?.({ thread, ...item });
        const e = item.event;
        if (e.kind === "approval.resolved" && e.decision === "deny") denial = `${e.by} denied ${e.approvalId}${e.note ? `: ${e.note}` : ""}`;
        if (e.kind === "turn.status" && e.status !== "started") {
          if (e.status === "completed") return denial ? { outcome: "denied", thread, reason: denial } : { outcome: "completed", thread };
          if (e.status === "interrupted") return { outcome: "interrupted", thread, reason: e.error ?? "the turn was interrupted" };
          return { outcome: "failed", thread, reason: e.error ?? "the turn failed" };
        }
      }
    } finally {
      sub.close();
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    await client.close();
  }
}

/** The exit code for an outcome or an error (EXEC_EXIT). */
export function execExitCode(result: JobResult | AirlockClientError): number {
  if (result instanceof AirlockClientError) {
    if (result.code === "TOKEN_INVALID" || result.code === "INVALID_ARGUMENT") return EXEC_EXIT.usage;
    if (TOKEN_REFUSED.has(result.code)) return EXEC_EXIT.token;
    if (result.code === "RELAY_UNREACHABLE" || result.code === "HOST_OFFLINE" || result.code === "TIMEOUT") return EXEC_EXIT.unreachable;
    return EXEC_EXIT.failed;
  }
  return EXEC_EXIT[result.outcome];
}
