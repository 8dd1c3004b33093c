// The JSON-RPC layer and hostile input. These use fakes on purpose: the real
// Codex binary never sends garbage, over-long lines or unknown requests on
// demand. json-rpc.ts is tested over in-memory streams; the whole adapter
// over fake-app-server.mjs (a scripted stand-in for `codex app-server`).
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { JsonRpcPeer, METHOD_NOT_FOUND, PEER_CLOSED, REQUEST_TIMEOUT, RpcError } from "../../../host-agent/src/agents/codex/json-rpc.ts";
import { CodexAgent } from "../../../host-agent/src/agents/codex/codex-agent.ts";
import { displayCommand } from "../../../host-agent/src/agents/codex/mapping.ts";
import { RecordingHost } from "./helpers.ts";

function pair(options: { maxLineBytes?: number; requestTimeoutMs?: number; onRequest?: (m: string, p: unknown) => Promise<unknown> } = {}) {
  const toPeer = new PassThrough();
  const fromPeer = new PassThrough();
  const logs: string[] = [];
  const notes: Array<[string, unknown]> = [];
  const written: unknown[] = [];
  let partial = "";
  fromPeer.on("data", (c: Buffer) => {
    partial += c.toString();
    const lines = partial.split("\n");
    partial = lines.pop()!;
    for (const l of lines) written.push(JSON.parse(l));
  });
  const peer = new JsonRpcPeer({
    input: toPeer,
    output: fromPeer,
    log: (l) => logs.push(l),
    onNotification: (m, p) => notes.push([m, p]),
    onRequest:
      options.onRequest ??
      (async (m) => {
        throw new RpcError(METHOD_NOT_FOUND, `no ${m}`);
      }),
    ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}),
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  });
  const send = (text: string) => toPeer.write(text);
  const tick = () => new Promise((r) => setTimeout(r, 10));
  return { peer, send, logs, notes, written, tick };
}

describe("JsonRpcPeer", () => {
  it("skips garbage and over-long lines, keeps going, handles split chunks", async () => {
    const p = pair({ maxLineBytes: 100 });
    p.send('not json\n"string"\n[1]\n{"id":{}}\n{"id":99,"result":1}\n');
    p.send(`{"method":"a","params":"${"x".repeat(300)}"}\n`);
    p.send('{"method":"split",');
    p.send('"params":{"k":1}}\n');
    await p.tick();
    expect(p.notes).toEqual([["split", { k: 1 }]]);
    expect(p.logs.length).toBeGreaterThanOrEqual(5);
    expect(p.logs.join("\n")).toContain("longer than 100 bytes");
    // Logs describe garbage, never echo it.
    expect(p.logs.join("\n")).not.toContain("xxxx");
  });

  it("answers unknown methods and throwing handlers with errors", async () => {
    const p = pair({
      onRequest: async (m) => {
        if (m === "boom") throw new Error("handler broke");
        if (m === "ok") return { fine: true };
        throw new RpcError(METHOD_NOT_FOUND, `no ${m}`);
      },
    });
    p.send('{"id":1,"method":"mystery/method","params":{}}\n{"id":"s2","method":"boom"}\n{"id":3,"method":"ok"}\n');
    await p.tick();
    expect(p.written).toEqual([
      { id: 1, error: { code: METHOD_NOT_FOUND, message: "no mystery/method" } },
      { id: "s2", error: { code: -32603, message: "handler broke" } },
      { id: 3, result: { fine: true } },
    ]);
  });

  it("matches answers, maps errors, times out, and rejects pending requests on close", async () => {
    const p = pair({ requestTimeoutMs: 50 });
    const ok = p.peer.request("a", {});
    const bad = p.peer.request("b", {});
    await p.tick();
    p.send('{"id":1,"result":{"x":1}}\n{"id":2,"error":{"code":-5,"message":"nope"}}\n');
    await expect(ok).resolves.toEqual({ x: 1 });
    await expect(bad).rejects.toMatchObject({ code: -5 });
    await expect(p.peer.request("slow", {})).rejects.toMatchObject({ code: REQUEST_TIMEOUT });
    const pending = p.peer.request("never", {}, 10_000);
    p.peer.close("process exited");
    await expect(pending).rejects.toMatchObject({ code: PEER_CLOSED });
    await expect(p.peer.request("after", {})).rejects.toMatchObject({ code: PEER_CLOSED });
  });
});

describe("CodexAgent with hostile input (fake app-server)", () => {
  it("never crashes or emits schema-invalid events, and answers unknown requests with errors", { timeout: 30_000 }, async () => {
    const binary = fileURLToPath(new URL("./fake-app-server.mjs", import.meta.url));
    chmodSync(binary, 0o755);
    const dataDir = mkdtempSync(join(tmpdir(), "airlock-codex-fake-"));
    const host = new RecordingHost();
    const agent = new CodexAgent({ binary, userInput: false });
    try {
      await agent.start({ host, dataDir });
      expect(await agent.listModels()).toEqual([{ id: "m1", name: "M1", efforts: ["low"] }]);
      expect(agent.defaultModel).toBe("m1");
      await agent.startThread("t1", "go", { cwd: dataDir });
      await host.waitTurnEnd("t1");
      await host.waitFor("two answers", () => host.logs.filter((l) => l.includes("FAKE-ANSWER")).length >= 2);
      expect(host.invalid).toEqual([]);
      const answers = host.logs.filter((l) => l.includes("FAKE-ANSWER")).map((l) => JSON.parse(l.slice(l.indexOf("{"))));
      expect(answers).toEqual([
        { id: 1000, error: { code: METHOD_NOT_FOUND, message: expect.stringContaining("item/tool/call") } },
        { id: 1001, error: { code: -32602, message: "unknown thread" } },
      ]);
      const kinds = host.of("t1").map((e) => e.kind);
      expect(kinds).toContain("message.delta");
      expect(kinds).toContain("command.finished");
      expect(host.kinds("t1", "file.change")).toEqual([expect.objectContaining({ path: "/b", oldPath: "/a", change: "rename" })]);
      expect(host.kinds("t1", "message.delta").length).toBe(2); // 70 000 chars split to fit the schema
    } finally {
      await agent.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("displayCommand", () => {
  it("unwraps Codex's shell wrapper only when the quoting is exact", () => {
    expect(displayCommand("/bin/bash -c 'echo hi'")).toBe("echo hi");
    expect(displayCommand("/bin/bash -lc 'echo '\\''q'\\'''")).toBe("echo 'q'");
    expect(displayCommand("/bin/bash -c 'a' b")).toBe("/bin/bash -c 'a' b");
    expect(displayCommand("git status")).toBe("git status");
  });
});

describe("CodexAgent start", () => {
  it("fails with AGENT_UNAVAILABLE when the binary cannot run, and does not retry", { timeout: 30_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "airlock-codex-missing-"));
    const host = new RecordingHost();
    const agent = new CodexAgent({ binary: join(dataDir, "no-such-codex"), restartDelayMs: 10 });
    try {
      await expect(agent.start({ host, dataDir })).rejects.toMatchObject({ code: "AGENT_UNAVAILABLE" });
      await new Promise((r) => setTimeout(r, 100));
      expect(host.logs.filter((l) => l.includes("could not run"))).toHaveLength(1);
    } finally {
      await agent.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
