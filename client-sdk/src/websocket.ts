// The slice of the standard WebSocket API the SDK uses. Browsers, workerd and
// React Native provide it as globalThis.WebSocket; on Node < 22 pass one in
// (the `ws` package's WebSocket fits; the CLI does that).
//
// Handler parameters are typed `any` on purpose: every implementation types its
// event objects differently (DOM MessageEvent, ws's own classes), and a
// narrower type would make the standard constructors unassignable. The SDK
// reads them defensively (relay-socket.ts).
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  /* eslint-disable @typescript-eslint/no-explicit-any */
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export function resolveWebSocket(injected?: WebSocketConstructor): WebSocketConstructor {
  const ctor = injected ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!ctor) throw new Error("no WebSocket: pass the WebSocket option (e.g. the ws package)");
  return ctor;
}

/** ws(s)://… URL of a relay route, from the relay's http(s) base URL. */
export function relayRoute(relayUrl: string, room: string, role: "device"): string {
  return `${relayUrl.replace(/\/+$/, "").replace(/^http/, "ws")}/v1/rooms/${room}/${role}`;
}
