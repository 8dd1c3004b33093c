// An ACP agent end to end (issue 13): the real `airlock up --agent acp -- <command>`
// running the scripted ACP agent (built with the official SDK) as its agent
// process, through the real relay on workerd, driven by a device over the
// end-to-end channel: host.info names the agent and what it can do, a command
// the agent wants to run waits for the device's approval (approved once, then
// denied), and steering answers UNSUPPORTED because ACP has no steering.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nobleBackend, type AppProtocolMessage } from "../../../protocol/src/index.ts";
import { startRelay } from "../../relay/harness.ts";
import { cleanup, command, freePort, isTurnEnd, startHost, until } from "../app-client.ts";
import { pairingDevice } from "../device.ts";
import { SCRIPTED_AGENT } from "./helpers.ts";
import { tempDir } from "../../support/temp.ts";

const isEvent =
  <K extends string>(kind: K) =>
  (m: AppProtocolMessage) =>
    m.type === "event" && m.body.kind === kind;

describe("ACP agent through the relay", () => {
  it("starts a thread, asks the device before running a command (approved, then denied), and refuses steering", async () => {
    const relay = await startRelay({ port: await freePort() });
    cleanup.push(() => relay.dispose());
    const home = tempDir("airlock-acp-e2e-home-");
    const workspace = tempDir("airlock-acp-e2e-ws-");
    const agentState = tempDir("airlock-acp-e2e-agent-");
    const env = { ...process.env, SCRIPTED_ACP_STATE: agentState, SCRIPTED_ACP_LOG: join(agentState, "log.jsonl"), SCRIPTED_ACP_MODE: "auto" };
    const host = startHost(home, relay.url, ["--agent", "acp", "--workspace", workspace, "--", process.execPath, SCRIPTED_AGENT], env);
    const { link } = (await host.waitFor("pairing")) as { link: string };
    const phone = await pairingDevice(link, await nobleBackend.generateSigner());
    await phone.handshake();
    cleanup.push(() => phone.close());

    const info = await until(phone, (m) => m.type === "host.info");
    expect(info.hit.type === "host.info" && info.hit.body.agent.kind).toBe("acp");
    expect(info.hit.type === "host.info" && info.hit.body.capabilities).toEqual(expect.arrayContaining(["agent.interrupt"]));

    // Approved once: the agent's exact command is the evidence, and it runs only after the decision.
    await command(phone, "thread.start", { prompt: "exec touch built.txt" });
    const request = (await until(phone, isEvent("approval.request"))).hit;
    if (request.type !== "event" || request.body.kind !== "approval.request") throw new Error("not an approval request");
    expect(request.body.evidence.action).toBe("touch built.txt");
    const thread = request.thread!;
    await command(phone, "approval.decide", { thread, approvalId: request.body.approvalId, decision: "approve_once" });
    const first = await until(phone, (m) => isTurnEnd(m) && m.thread === thread);
    expect(first.hit.type === "event" && first.hit.body.kind === "turn.status" && first.hit.body.status).toBe("completed");
    const kinds = first.seen.flatMap((m) => (m.type === "event" ? [m.body.kind] : []));
    // The tool call shows as a command while it waits; its output comes only after the decision.
    expect(kinds).toEqual(expect.arrayContaining(["approval.resolved", "command.output", "command.finished", "message.completed"]));
    expect(kinds.indexOf("approval.resolved")).toBeLessThan(kinds.indexOf("command.output"));
    expect(first.seen.some((m) => m.type === "event" && m.body.kind === "message.completed" && m.body.text.includes("It ran"))).toBe(true);

    // Steering a thread: ACP has none (refused at once, whether or not a turn runs).
    const steer = await command(phone, "turn.steer", { thread, text: "left, please" });
    const steered = (await until(phone, (m) => (m.type === "error" || m.type === "result") && m.re === steer)).hit;
    expect(steered).toMatchObject({ type: "error", body: { code: expect.stringMatching(/^(UNSUPPORTED|TURN_NOT_RUNNING)$/) } });

    // Denied: the command does not run, and the agent hears it.
    await command(phone, "thread.send", { thread, text: "exec rm -rf build" });
    const second = (await until(phone, isEvent("approval.request"))).hit;
    if (second.type !== "event" || second.body.kind !== "approval.request") throw new Error("not an approval request");
    await command(phone, "approval.decide", { thread, approvalId: second.body.approvalId, decision: "deny" });
    const end = await until(phone, (m) => isTurnEnd(m) && m.thread === thread);
    // The denied tool call never ran (its only output is the agent's note) and has no exit code.
    expect(end.seen.some((m) => m.type === "event" && m.body.kind === "command.output" && m.body.chunk.includes("ran:"))).toBe(false);
    expect(end.seen.flatMap((m) => (m.type === "event" && m.body.kind === "command.finished" ? [m.body.exitCode] : []))).toEqual([null]);
    expect(end.seen.some((m) => m.type === "event" && m.body.kind === "message.completed" && m.body.text.includes("denied"))).toBe(true);
    expect(host.child.exitCode).toBeNull();
  }, 90_000);
});
