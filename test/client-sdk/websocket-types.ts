// Type-level check (run by `npm run typecheck`, not vitest): the standard
// WebSocket constructors can be passed as the SDK's WebSocket option as-is.
import WS from "ws";
import type { WebSocketConstructor } from "../../client-sdk/src/index.ts";

export const browserWebSocket: WebSocketConstructor = WebSocket;
export const nodeWsPackage: WebSocketConstructor = WS;
