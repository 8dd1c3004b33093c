// `npm start` with its relay port already taken (another `npm start` still
// running, another dev server) says so and how to pick another port, and
// exits, instead of waiting without a word for wrangler to get the port; it
// creates nothing before that check. The real script, as `npm start` runs it.
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";

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
