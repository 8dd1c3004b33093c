// Codex's child process, `codex app-server` (not Airlock's own app-server.ts):
// spawn, JSON-RPC handshake, stderr → operator log, orderly stop. Restarts are
// the supervisor's business (../supervisor.ts); this module only reports the exit.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { JsonRpcPeer, type NotificationHandler, type RequestHandler } from "./json-rpc.ts";
import { pipeLines } from "../stderr-lines.ts";

const PLATFORM_PACKAGES: Record<string, [pkg: string, triple: string]> = {
  "linux-x64": ["@openai/codex-linux-x64", "x86_64-unknown-linux-musl"],
  "linux-arm64": ["@openai/codex-linux-arm64", "aarch64-unknown-linux-musl"],
  "darwin-x64": ["@openai/codex-darwin-x64", "x86_64-apple-darwin"],
  "darwin-arm64": ["@openai/codex-darwin-arm64", "aarch64-apple-darwin"],
};

/**
 * The native binary from an installed `@openai/codex` (spawned directly: the
 * npm wrapper adds a node process in between), else `codex` from PATH.
 */
export function resolveCodexBinary(): string {
  const entry = PLATFORM_PACKAGES[`${process.platform}-${process.arch}`];
  if (!entry) return "codex";
  const [pkg, triple] = entry;
  const require = createRequire(import.meta.url);
  const roots: string[] = [];
  for (const from of [pkg, `@openai/codex/node_modules/${pkg}`]) {
    try {
      roots.push(dirname(require.resolve(`${from}/package.json`)));
    } catch {
      // not installed this way
    }
  }
  for (const root of roots) {
    const binary = join(root, "vendor", triple, "bin", "codex");
    if (existsSync(binary)) return binary;
  }
  return "codex";
}

export interface SpawnOptions {
  binary: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  log: (line: string) => void;
  onNotification: NotificationHandler;
  onRequest: RequestHandler;
  requestTimeoutMs?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class CodexProcess {
  readonly peer: JsonRpcPeer;
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private stopping = false;

  constructor(options: SpawnOptions) {
    this.child = spawn(options.binary, ["app-server", ...options.args], {
      env: options.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ["pipe", "pipe", "pipe"],
    });
    const { stdin, stdout, stderr } = this.child;
    if (!stdin || !stdout || !stderr) throw new Error("codex app-server: no stdio pipes");
    this.peer = new JsonRpcPeer({
      input: stdout,
      output: stdin,
      log: options.log,
      onNotification: options.onNotification,
      onRequest: options.onRequest,
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    });
    pipeLines(stderr, (line) => options.log(`codex: ${line}`));
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once("error", (error) => {
        options.log(`codex: could not run ${options.binary}: ${error.message}`);
        resolve({ code: null, signal: null });
      });
      this.child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    this.exited
      .then((info) => this.peer.close(`codex app-server exited (${describeExit(info)})`))
      .catch((error: unknown) => options.log(`codex: closing the JSON-RPC peer failed: ${String(error)}`));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True once stop() was called: the exit that follows is expected. */
  get stopRequested(): boolean {
    return this.stopping;
  }

  /**
   * Handshake; resolves with Codex's version when its user agent names one.
   * `experimentalApi` is on for `thread/backgroundTerminals/clean`, the only way
   * to stop a command that `turn/interrupt` leaves running (0.169–0.171).
   */
  async initialize(version: string): Promise<string | undefined> {
    const result = await this.peer.request(
      "initialize",
      { clientInfo: { name: "airlock", title: "Airlock", version }, capabilities: { experimentalApi: true, requestAttestation: false } },
      30_000,
    );
    this.peer.notify("initialized");
    const userAgent = typeof result === "object" && result !== null ? (result as { userAgent?: unknown }).userAgent : undefined;
    const m = typeof userAgent === "string" ? /^[^/\s]+\/([0-9][0-9A-Za-z.+-]{0,40})/.exec(userAgent) : null;
    return m?.[1];
  }

  /** Closes stdin (app-server exits on EOF), kills after graceMs. */
  async stop(graceMs = 2000): Promise<void> {
    this.stopping = true;
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** For tests and crash handling: end the child now. */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.child.kill(signal);
  }
}

export function describeExit(info: ExitInfo): string {
  return info.signal ? `signal ${info.signal}` : `code ${info.code ?? "unknown"}`;
}
