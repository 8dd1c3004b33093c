// The public API both entry points share: everything but AirlockClient, which
// each entry builds with its own crypto (index.ts: WebCrypto and the noble
// fallback; native.ts: noble only).
export { AirlockClientCore, deviceNameFor, type AirlockClientOptions, type ClientEvents, type CryptoChoice, type PairResult } from "./client.ts";
export {
  HostConnection,
  DEFAULT_CONNECTION_TIMING,
  type ConnectionEvents,
  type ConnectionState,
  type ConnectionTiming,
  type Decision,
  type Effort,
  type HostInfo,
  type ThreadEventMessage,
} from "./host-connection.ts";
export { ThreadSubscription, MAX_EVENTS_PER_THREAD, type SeqEvent } from "./thread-subscription.ts";
export { Outbox, DEFAULT_OUTBOX_MAX, DEFAULT_OUTBOX_TTL_MS, type OutboxEntry, type OutboxOptions, type OutboxState, type SavedCommand } from "./outbox.ts";
export { MAX_SAVED_COMMAND_BYTES, MAX_SAVED_STATE_BYTES, MAX_SAVED_THREADS, connectionStateKey } from "./persist.ts";
export { AirlockClientError, isClientError, type ClientErrorCode } from "./errors.ts";
export { MemoryStore, type Store } from "./store.ts";
export { type TrustedHost } from "./hosts.ts";
export { type Presence, type SocketTiming } from "./relay-socket.ts";
// One backoff for SDK and host (protocol/src/backoff.ts), re-exported so apps keep importing it from the SDK.
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "@airlock/protocol";
export { parseLink, type PairOptions } from "./pairing.ts";
export { type WebSocketConstructor, type WebSocketLike } from "./websocket.ts";
export type { ThreadEvent, ThreadSummary, ModelInfo, ApprovalEvidence, ApprovalDecision, RiskTier } from "@airlock/protocol";
// Per-command types of HostConnection.command and its methods (protocol/src/app-results.ts).
export type { CommandResult, DeviceCommandBody, DeviceCommandType, NoResultData } from "@airlock/protocol";
