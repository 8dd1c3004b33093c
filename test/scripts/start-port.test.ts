// `npm start` with its relay port already taken (another `npm start` still
// running, another dev server) says so and how to pick another port, and
// exits, instead of waiting without a word for wrangler to get the port; it
// creates nothing before that check. The real script, as `npm start` runs it.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

function holdPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    servers.push(server);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

function runStart(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`npm start did not exit within 30 s; stderr: ${stderr}`));
    }, 30_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe("npm start and a port in use", () => {
  it("says the port is in use and how to pick another, and exits 1", async () => {
    const port = await holdPort();
    const { code, stderr } = await runStart({ AIRLOCK_RELAY_PORT: String(port) });
    expect(code).toBe(1);
    expect(stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
    expect(stderr).toContain(`AIRLOCK_RELAY_PORT=${port + 1} npm start`);
  });

  it("refuses a port that is not a number", async () => {
    const { code, stderr } = await runStart({ AIRLOCK_RELAY_PORT: "eighty" });
    expect(code).toBe(2);
    expect(stderr).toContain("AIRLOCK_RELAY_PORT must be a port number");
  });
});

/** A loopback port nothing listens on (asked of the OS, then released). */
async function freePort(): Promise<number> {
  const port = await holdPort();
  await new Promise((resolve) => servers.pop()!.close(resolve));
  return port;
}

describe("npm start stopped with a signal", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s to the script stops the host agent and leaves no temp folder (wrangler's own handlers used to exit first)",
    async (signal) => {
      const state = tempDir("airlock-start-state-");
      const tmp = tempDir("airlock-start-tmp-"); // the relay's temp folders go here (TMPDIR)
      const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
        env: { ...process.env, AIRLOCK_RELAY_PORT: String(await freePort()), AIRLOCK_DEV_DIR: state, TMPDIR: tmp },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // its own process group, so a failed run can kill everything it started
      });
      let output = "";
      const collect = (d: Buffer) => (output += d.toString());
      child.stdout.on("data", collect);
      child.stderr.on("data", collect);
      // The host agent inherits these pipes: they close once every process holding them is gone.
      const closed = new Promise<void>((resolve) => child.stdout.on("close", () => resolve()));
      const waitFor = async (text: string, ms: number) => {
        const until = Date.now() + ms;
        while (!output.includes(text)) {
          if (Date.now() > until || child.exitCode !== null) throw new Error(`no "${text}" within ${ms} ms:\n${output}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      try {
        await waitFor("Relay: online", 60_000);
        const relayFolders = () => readdirSync(tmp).filter((f) => f.startsWith("airlock-relay-")); // (tsx keeps its cache there too)
        expect(relayFolders().length).toBeGreaterThan(0); // so the check below can fail
        child.kill(signal);
        await waitFor("Stopped.", 20_000); // airlock up's own clean stop
        await closed;
        expect(relayFolders()).toEqual([]);
      } finally {
        try {
          process.kill(-child.pid!, "SIGKILL"); // whatever is left of the group (nothing, when it passed)
        } catch {
          // already gone
        }
      }
    },
    120_000,
  );
});
