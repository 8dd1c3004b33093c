// Baselines for bench/relay.bench.ts, run in a child process (as workerd is):
// plain Node `ws` servers on 127.0.0.1 that move the same frames as the relay.
//
//   /echo                 the device itself: answers every DATA frame with a
//                         DATA frame of its own (own counter, same body size)
//   /room/<id>/host       a plain relay: whatever the host sends goes to the
//   /room/<id>/device     room's device and back, unparsed, unchecked
//
// Started by the benchmark with fork(); reports its port over IPC and exits
// when the parent says "stop" or goes away.
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { encodeFrame, FrameType } from "../protocol/src/index.ts";

const DATA = FrameType.DATA;
const rooms = new Map<string, { host?: WebSocket; device?: WebSocket }>();
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });

wss.on("connection", (ws, req) => {
  const path = req.url ?? "";
  if (path === "/echo") {
    let counter = 0n;
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary || data[1] !== DATA) return;
      const body = new Uint8Array(data.length - 20);
      ws.send(encodeFrame({ type: DATA, slot: 0, epoch: 1, counter: counter++ }, body));
    });
    return;
  }
  const m = /^\/room\/([^/]+)\/(host|device)$/.exec(path);
  if (!m) return ws.close(4000, "unknown path");
  const [, id, role] = m as unknown as [string, string, "host" | "device"];
  const room = rooms.get(id) ?? {};
  rooms.set(id, room);
  room[role] = ws;
  const other = role === "host" ? "device" : "host";
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    room[other]?.send(data, { binary: isBinary });
  });
  ws.on("close", () => {
    if (room[role] === ws) delete room[role];
    if (!room.host && !room.device) rooms.delete(id);
  });
});

const stop = () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
};
wss.on("listening", () => process.send!({ port: (wss.address() as AddressInfo).port }));
process.on("message", (m) => {
  if (m === "stop") stop();
});
process.on("disconnect", stop);
