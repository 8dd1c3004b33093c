// Local control socket: lets `airlock pair`, `airlock devices revoke` and
// `airlock status` talk to a running `airlock up`. A Unix socket inside the
// 0700 state folder, so only this user can reach it. Newline-delimited JSON,
// one request per connection; the server may stream several messages back.
import { existsSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

export const MAX_CONTROL_LINE = 64 * 1024;

export function controlSocketPath(home: string): string {
  return join(home, "agent.sock");
}

export type ControlMessage = Record<string, unknown> & { type: string };

/** Serves control requests. `handle` gets each request and a way to answer (possibly several times). */
export function serveControl(
  path: string,
  handle: (request: ControlMessage, reply: (m: ControlMessage) => void, incoming: AsyncIterable<ControlMessage>) => Promise<void>,
): Promise<Server> {
  if (existsSync(path)) unlinkSync(path); // a stale socket from a crashed run
  const server = createServer((socket) => {
    const lines = lineReader(socket);
    const reply = (m: ControlMessage) => {
      if (!socket.destroyed) socket.write(JSON.stringify(m) + "\n");
    };
    (async () => {
      const first = await lines.next();
      if (first.done) return socket.end();
      try {
        await handle(first.value, reply, { [Symbol.asyncIterator]: () => lines });
      } catch (e) {
        reply({ type: "error", message: e instanceof Error ? e.message : String(e) });
      }
      socket.end();
    })().catch(() => socket.destroy()); // nothing here may take the host down
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve(server));
  });
}

/** Opens a control connection; null when no `airlock up` is listening. */
export async function connectControl(path: string): Promise<{ send(m: ControlMessage): void; messages: AsyncIterator<ControlMessage>; close(): void } | null> {
  if (!existsSync(path)) return null;
  const socket = createConnection(path);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
  } catch {
    return null;
  }
  return {
    send: (m) => socket.write(JSON.stringify(m) + "\n"),
    messages: lineReader(socket),
    close: () => socket.end(),
  };
}

/** Parses newline-delimited JSON from a socket, bounded per line. */
function lineReader(socket: Socket): AsyncIterator<ControlMessage> {
  let buffer = "";
  const queue: ControlMessage[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    if (buffer.length > MAX_CONTROL_LINE && !buffer.includes("\n")) {
      socket.destroy();
      return;
    }
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        const value = JSON.parse(line) as unknown;
        if (value && typeof value === "object" && typeof (value as ControlMessage).type === "string") queue.push(value as ControlMessage);
      } catch {
        socket.destroy();
      }
    }
    wake?.();
  });
  const finish = () => {
    ended = true;
    wake?.();
  };
  socket.on("end", finish);
  socket.on("close", finish);
  socket.on("error", finish);
  return {
    async next() {
      for (;;) {
        const m = queue.shift();
        if (m) return { value: m, done: false };
        if (ended) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
  };
}
