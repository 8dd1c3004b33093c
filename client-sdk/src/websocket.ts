// The slice of the standard WebSocket API the SDK uses. Browsers, workerd and
// React Native provide it as globalThis.WebSocket; on Node < 22 pass one in
// (the `ws` package's WebSocket fits; the CLI does that).
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export function resolveWebSocket(injected?: WebSocketConstructor): WebSocketConstructor {
  const ctor = injected ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!ctor) throw new Error("no WebSocket implementation: pass one as the WebSocket option (e.g. the ws package on Node)");
  return ctor;
}

/** ws(s)://… URL of a relay route, from the relay's http(s) base URL. */
export function relayRoute(relayUrl: string, room: string, role: "device"): string {
  return `${relayUrl.replace(/\/+$/, "").replace(/^http/, "ws")}/v1/rooms/${room}/${role}`;
}
