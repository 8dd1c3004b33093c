// The control socket's protocol (host-agent/src/control.ts) over a real Unix
// socket: what arrives is parsed strictly on both sides. A request the server
// does not understand gets an error reply and the server keeps serving; a
// reply the CLI does not understand is a ControlProtocolError, not a crash.
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import {
  connectControl,
  ControlProtocolError,
  MAX_CONTROL_LINE,
  parseControlRequest,
  serveControl,
  type ControlRequest,
} from "../../host-agent/src/control.ts";

const dir = tempDir("airlock-control-");

/** Sends raw bytes to the socket and collects every reply line until the server ends the connection. */
function raw(path: string, bytes: string): Promise<unknown[]> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (c: string) => (text += c));
    socket.on("error", () => {}); // a reset when the server drops the connection; "close" follows
    socket.on("close", () =>
      resolve(
        text
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as unknown),
      ),
    );
    socket.write(bytes);
  });
}

describe("control socket", () => {
  const path = join(dir, "agent.sock");
  const seen: ControlRequest[] = [];
  let server: Server;
  beforeAll(async () => {
    server = await serveControl(path, async (request, reply) => {
      seen.push(request);
      if (request.type === "status") reply({ type: "status", room: "r".repeat(43), relayUrl: "http://127.0.0.1:8787", devices: [] });
      else if (request.type === "decide") reply({ type: "decided", approvalId: request.id, decision: request.decision, thread: "t1" });
      else throw new Error(`not served here: ${request.type}`);
    });
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("answers a well-formed request through the typed client", async () => {
    const control = (await connectControl(path))!;
    control.send({ type: "status" });
    const answer = await control.messages.next();
    control.close();
    expect(answer.value).toEqual({ type: "status", room: "r".repeat(43), relayUrl: "http://127.0.0.1:8787", devices: [] });
  });

  it("answers an unknown type, a malformed known type and non-objects with an error, without calling the handler", async () => {
    const before = seen.length;
    expect(await raw(path, JSON.stringify({ type: "format-disk" }) + "\n")).toEqual([{ type: "error", message: "unknown request format-disk" }]);
    const [bad] = (await raw(path, JSON.stringify({ type: "decide", id: "ap_1", decision: "approve_forever" }) + "\n")) as { type: string; message: string }[];
    expect(bad!.type).toBe("error");
    expect(bad!.message).toMatch(/^bad control request: decision/);
    const [extra] = (await raw(path, JSON.stringify({ type: "status", admin: true }) + "\n")) as { message: string }[];
    expect(extra!.message).toMatch(/unknown key "admin"/);
    for (const line of ["null", "[]", "42", '"status"', "{}"]) expect(((await raw(path, line + "\n")) as { type: string }[])[0]!.type).toBe("error");
    expect(seen.length).toBe(before);
  });

  it("closes the connection on a line that is not JSON or is too long, and keeps serving", async () => {
    expect(await raw(path, "{not json\n")).toEqual([]);
    expect(await raw(path, "x".repeat(MAX_CONTROL_LINE + 10))).toEqual([]);
    expect(await raw(path, JSON.stringify({ type: "decide", id: "ap_1", decision: "deny" }) + "\n")).toEqual([
      { type: "decided", approvalId: "ap_1", decision: "deny", thread: "t1" },
    ]);
  });

  it("turns a handler's exception into an error reply", async () => {
    expect(await raw(path, JSON.stringify({ type: "approvals" }) + "\n")).toEqual([{ type: "error", message: "not served here: approvals" }]);
  });
});

describe("control client", () => {
  it("rejects a reply outside the protocol with ControlProtocolError", async () => {
    const path = join(dir, "fake.sock");
    // A stand-in for a different airlock up: the point is a reply the real one never sends.
    // (It reads what it is sent, so the client's end of the connection closes it.)
    const fake = createServer((socket) => socket.resume().end(JSON.stringify({ type: "status", room: 7 }) + "\n"));
    await new Promise<void>((r) => fake.listen(path, r));
    try {
      const control = (await connectControl(path))!;
      control.send({ type: "status" });
      await expect(control.messages.next()).rejects.toBeInstanceOf(ControlProtocolError);
      control.close();
    } finally {
      await new Promise<void>((r) => fake.close(() => r()));
    }
  });

  it("is null when nothing listens", async () => {
    expect(await connectControl(join(dir, "nobody.sock"))).toBeNull();
  });
});

describe("parseControlRequest", () => {
  it("accepts every request the CLI sends and bounds the fields", () => {
    const requests: ControlRequest[] = [
      { type: "status" },
      { type: "pair" },
      { type: "pair", ttl: 60 },
      { type: "answer", ok: true },
      { type: "approvals" },
      { type: "decide", id: "ap_x", decision: "approve_session" },
      { type: "revoke", id: "dev" },
      { type: "tokens.changed", event: "token.revoked", data: { tokenId: "t" } },
    ];
    for (const r of requests) expect(parseControlRequest(r)).toEqual({ ok: true, request: r });
    expect(parseControlRequest({ type: "pair", ttl: 0 }).ok).toBe(false);
    expect(parseControlRequest({ type: "pair", ttl: 3601 }).ok).toBe(false);
    expect(parseControlRequest({ type: "revoke", id: "d".repeat(257) }).ok).toBe(false);
    expect(parseControlRequest({ type: "tokens.changed", event: "token.deleted", data: {} }).ok).toBe(false);
  });
});
