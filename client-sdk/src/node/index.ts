// Node-only additions to @airlock/client-sdk: a file-backed store and a client
// factory that injects the `ws` WebSocket where the platform has none.
import WebSocket from "ws";
import type { AirlockClientOptions } from "../client.ts";
import { AirlockClient } from "../client-web.ts";
import type { WebSocketConstructor } from "../websocket.ts";

export { FileStore } from "./file-store.ts";

/** The `ws` package's WebSocket speaks the standard API the SDK uses. */
export const NodeWebSocket: WebSocketConstructor = WebSocket;

export function createNodeClient(options: Omit<AirlockClientOptions, "WebSocket"> & { WebSocket?: WebSocketConstructor }): Promise<AirlockClient> {
  return AirlockClient.create({ ...options, WebSocket: options.WebSocket ?? NodeWebSocket });
}

/** One job with an automation token (what `airlock-client exec` runs): docs/client-sdk.md. */
export { EXEC_EXIT, execExitCode, readToken, runJob, type JobOptions, type JobOutcome, type JobResult } from "./exec.ts";
