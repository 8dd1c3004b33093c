// Issue 14, who may use a team's relay: with ALLOWED_ROOMS set, the relay
// serves only those rooms (403 ROOM_NOT_ALLOWED for hosts and devices of any
// other, before a Durable Object is touched); a host refused that way stops
// with a message saying what to do instead of retrying forever. Unset: open.
import { afterAll, describe, expect, it } from "vitest";
import { nobleBackend, roomIdFor } from "../../protocol/src/index.ts";
import { RelayLink, type FatalEvent } from "../../host-agent/src/relay-link.ts";
import { rawRequest, startRelay, type RelayServer } from "./harness.ts";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "../host-agent/app-client.ts";

/** `airlock doctor --relay URL --json`: its exit code and checks (async: the relay runs in this process). */
function doctor(relayUrl: string, home: string): Promise<{ code: number | null; checks: Array<{ name: string; ok: boolean; detail: string }> }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, "--home", home, "--json", "doctor", "--relay", relayUrl],
      { encoding: "utf8", timeout: 30_000 },
      (_err, stdout) => {
        resolve({
          code: child.exitCode,
          checks: (JSON.parse(stdout.trim().split("\n").pop()!) as { checks: Array<{ name: string; ok: boolean; detail: string }> }).checks,
        });
      },
    );
  });
}

const relays: RelayServer[] = [];
afterAll(async () => {
  for (const r of relays) await r.dispose();
});

async function relayWith(vars: Record<string, string>): Promise<RelayServer> {
  const r = await startRelay({ vars });
  relays.push(r);
  return r;
}

function link(relayUrl: string, signer: Awaited<ReturnType<typeof nobleBackend.generateSigner>>) {
  const l = new RelayLink({ relayUrl, signer, backoff: { initialMs: 50, maxMs: 200 } });
  const outcome = new Promise<"online" | FatalEvent>((resolve) => {
    l.on("welcome", () => resolve("online"));
    l.on("fatal", (f) => resolve(f));
  });
  l.start();
  return { link: l, outcome };
}

describe("relay admission policy (ALLOWED_ROOMS)", () => {
  it("serves only the listed rooms; another host stops with a clear message, its devices get 403", async () => {
    const team = await nobleBackend.generateSigner();
    const stranger = await nobleBackend.generateSigner();
    const relay = await relayWith({ ALLOWED_ROOMS: ` ${roomIdFor(team.publicKey)} ,` });
    expect(((await (await fetch(`${relay.url}/v1/info`)).json()) as { admission: string }).admission).toBe("allowlist");

    const ok = link(relay.url, team);
    expect(await ok.outcome).toBe("online");
    await ok.link.stop();

    const refused = link(relay.url, stranger);
    const fatal = await refused.outcome;
    expect(fatal).toMatchObject({ message: expect.stringContaining("ALLOWED_ROOMS") });
    expect((fatal as FatalEvent).message).toContain(roomIdFor(stranger.publicKey));
    expect(refused.link.state).toBe("offline");
    await refused.link.stop();

    const device = await rawRequest(relay.url, "GET", `/v1/rooms/${roomIdFor(stranger.publicKey)}/device`);
    expect(device.status).toBe(403);
    expect(JSON.parse(device.body)).toMatchObject({ error: "ROOM_NOT_ALLOWED" });
  });

  it("fails closed on a list that holds anything but room ids, and is open when unset", async () => {
    const host = await nobleBackend.generateSigner();
    const broken = await relayWith({ ALLOWED_ROOMS: `${roomIdFor(host.publicKey)},not-a-room` });
    expect((await rawRequest(broken.url, "GET", `/v1/rooms/${roomIdFor(host.publicKey)}/host`)).status).toBe(403);

    const open = await relayWith({});
    expect(((await (await fetch(`${open.url}/v1/info`)).json()) as { admission: string }).admission).toBe("open");
    const l = link(open.url, host);
    expect(await l.outcome).toBe("online");
    await l.link.stop();
  });

  it("airlock doctor checks a relay end to end: the upgrade on the host's room, and whether the relay serves it", async () => {
    const home = mkdtempSync(join(tmpdir(), "airlock-doctor-"));
    try {
      // No identity yet: the doctor probes a throwaway room (after airlock up, this host's own).
      const open = await relayWith({});
      const first = await doctor(open.url, home);
      expect(first.checks.find((c) => c.name === "upgrade")).toMatchObject({ ok: true });
      expect(first.checks.find((c) => c.name === "relay")).toMatchObject({ ok: true });
      expect(first.checks.find((c) => c.name === "clock")).toMatchObject({ ok: true });
      const other = await nobleBackend.generateSigner();
      const closed = await relayWith({ ALLOWED_ROOMS: roomIdFor(other.publicKey) });
      const refused = await doctor(closed.url, home);
      expect(refused.checks.find((c) => c.name === "admission")).toMatchObject({ ok: false, detail: expect.stringContaining("ALLOWED_ROOMS") });
      expect(refused.code).toBe(4);
      const gone = await doctor("http://127.0.0.1:9", home);
      expect(gone.checks.find((c) => c.name === "relay")).toMatchObject({ ok: false });
      expect(gone.code).toBe(4);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
