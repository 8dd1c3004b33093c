// The `airlock` CLI as a user runs it, against the real relay on workerd:
// pairing (with --yes and with SAS confirmation), single-use links, resume
// after a host restart, revocation of a live session, wrong identity modes.
import { spawn } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBase64Url, nobleBackend, parsePairingLink } from "../../protocol/src/index.ts";
import { RelayClose } from "../../protocol/src/relay.ts";
import { connectDevice, startRelay, type RelayServer } from "../relay/harness.ts";
import { airlock, type Cli } from "./airlock-cli.ts";
import { pairingDevice, resumingDevice } from "./device.ts";
import { tempDir } from "../support/temp.ts";

const BIN = new URL("../../host-agent/bin/airlock.js", import.meta.url).pathname;

/** Starts `airlock ARGS`; every process started here is stopped after the file. */
function run(args: string[]): Cli {
  const r = airlock(args);
  running.push(r);
  return r;
}

async function runToEnd(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args]);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { code, stdout, stderr };
}

let relay: RelayServer;
const running: Cli[] = [];
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  for (const r of running) await r.stop();
  await relay?.dispose();
});

function up(home: string, ...extra: string[]): Cli {
  return run(["--home", home, "--json", "up", "--relay", relay.url, ...extra]);
}

describe("airlock CLI against the real relay", () => {
  it("pairs with --yes, refuses a second use of the link, resumes after a host restart, revokes live", async () => {
    const home = tempDir("airlock-home-");
    let host = up(home, "--pair", "--yes");
    const { link } = (await host.next("pairing")) as { link: string };
    const parsed = parsePairingLink(link);
    expect(link).not.toContain(" ");

    const signer = await nobleBackend.generateSigner();
    const phone = await pairingDevice(link, signer, "Ana's phone");
    const opened = await phone.handshake();
    expect(opened.mode).toBe(1);
    const listed = JSON.parse((await runToEnd(["--home", home, "--json", "devices"])).stdout) as Array<{ id: string; name: string }>;
    expect(listed.map((d) => d.name)).toEqual(["Ana's phone"]);

    // The same QR a second time: the relay ticket is spent.
    const thief = await nobleBackend.generateSigner();
    await expect(pairingDevice(link, thief)).rejects.toThrow();
    phone.close();

    // Host restart: the trusted device resumes without any link.
    await host.stop();
    host = up(home);
    await host.next("relay.online");
    const again = await resumingDevice(relay.url, parsed.roomId, parsed.hostPublicKey, signer);
    expect((await again.handshake()).mode).toBe(2);

    // Revoke while the session is live: it ends at once and cannot come back.
    const revoked = await runToEnd(["--home", home, "--json", "devices", "revoke", listed[0]!.id.slice(0, 6)]);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ type: "revoked", id: listed[0]!.id });
    const closed = await again.client.closed;
    expect(closed.code).toBe(RelayClose.REVOKED);
    await expect(connectDevice(relay.url, parsed.roomId, signer)).rejects.toThrow();
    await host.stop();

    // The audit trail has the pairing, the sessions and the revocation, and detects tampering.
    const tail = JSON.parse((await runToEnd(["--home", home, "--json", "audit", "tail", "-n", "50"])).stdout) as Array<{ type: string }>;
    expect(tail.map((r) => r.type)).toEqual(expect.arrayContaining(["pairing", "session", "revocation"]));
    const verified = await runToEnd(["--home", home, "--json", "audit", "verify"]);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, records: tail.length });
    const auditFile = join(home, "audit.jsonl");
    writeFileSync(auditFile, readFileSync(auditFile, "utf8").replace('"paired"', '"pairef"'));
    const tampered = await runToEnd(["--home", home, "--json", "audit", "verify"]);
    expect(tampered.code).toBe(1);
    expect(JSON.parse(tampered.stdout)).toMatchObject({ ok: false, problem: "edited" });
  }, 90_000);

  it("pairs only after the operator confirms the SAS shown on both sides; 'n' refuses", async () => {
    const home = tempDir("airlock-home-");
    const host = up(home);
    await host.next("relay.online");
    for (const answer of ["y", "n"]) {
      const pair = run(["--home", home, "--json", "pair"]);
      const { link } = (await pair.next("pairing")) as { link: string };
      const phone = await pairingDevice(link, await nobleBackend.generateSigner(), `Phone ${answer}`);
      let deviceSas = "";
      const handshake = phone.handshake((sas) => (deviceSas = sas));
      const confirm = await pair.next("confirm");
      expect(confirm.sas).toBe(deviceSas);
      expect(confirm.deviceName).toBe(`Phone ${answer}`);
      pair.child.stdin.write(`${answer}\n`);
      if (answer === "y") {
        await handshake;
        expect((await pair.next("paired")).deviceName).toBe("Phone y");
        expect(await pair.exited).toBe(0);
      } else {
        await expect(handshake).rejects.toMatchObject({ code: "SAS_REJECTED", remote: true });
        await pair.next("rejected");
        expect(await pair.exited).toBe(5);
      }
      phone.close();
    }
    const devices = JSON.parse((await runToEnd(["--home", home, "--json", "devices"])).stdout) as Array<{ name: string }>;
    expect(devices.map((d) => d.name)).toEqual(["Phone y"]);
    await host.stop();
  }, 90_000);

  it("refuses to start with an identity file others can read, and says how to fix it", async () => {
    const home = tempDir("airlock-home-");
    const first = up(home);
    await first.next("relay.online");
    await first.stop();
    chmodSync(join(home, "identity.json"), 0o644);
    const result = await runToEnd(["--home", home, "up", "--relay", relay.url]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("chmod 600");
  }, 60_000);

  it("answers --help, usage errors and unknown devices with documented exit codes", async () => {
    const home = tempDir("airlock-home-");
    expect((await runToEnd(["--help"])).code).toBe(0);
    expect((await runToEnd(["up", "--help"])).stdout).toContain("--relay URL");
    expect((await runToEnd(["up", "--bogus"])).code).toBe(2);
    expect((await runToEnd(["--home", home, "devices", "revoke", "d_nope"])).code).toBe(7);
    expect((await runToEnd(["--home", home, "pair"])).code).toBe(7); // airlock up is not running
    expect(fromBase64Url("AA")).toBeTruthy();
  }, 60_000);
});
