// The one way to run the relay on this machine: wrangler.toml's Worker on local
// workerd through wrangler's DevEnv (the machinery behind unstable_startWorker).
// Used by `npm start` (scripts/start.ts), the tests (test/relay/harness.ts) and
// the benchmarks (bench/relay-client.ts), so a fix for how a local relay runs
// lands in all three.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unstable_DevEnv } from "wrangler";

export type Binding = { type: "plain_text" | "secret_text"; value: string };

export interface LocalRelayOptions {
  /** Plain-text bindings, overriding wrangler.toml [vars]. */
  vars?: Record<string, string>;
  /** Bindings as wrangler takes them, e.g. a secret_text VAPID_PRIVATE_KEY: handed to workerd directly, never argv, env or a .dev.vars file. */
  bindings?: Record<string, Binding>;
  /** Loopback port; 0 (the default) picks a free one. */
  port?: number;
  /** Durable Object storage; a fresh temp folder (removed on dispose) by default. A given folder is the caller's. */
  persistDir?: string;
  logLevel?: "error" | "warn" | "info" | "debug" | "log" | "none";
}

export interface LocalRelay {
  /** http://127.0.0.1:PORT: wrangler's dev proxy (a second workerd) in front of the Worker, what unstable_startWorker hands out. */
  url: string;
  /**
   * The Worker's own workerd socket, without the dev proxy hop (miniflare's
   * entry worker → the Worker → the Durable Object), once the Worker is bundled
   * and running. `url` answers before that (the proxy holds requests until it
   * is); the benchmarks wait for this to measure without the proxy.
   */
  directUrl(timeoutMs?: number): Promise<string>;
  /**
   * wrangler's bundler watches the Worker's sources whatever dev.watch says:
   * editing them while the relay runs rebuilds it and drops every socket.
   * Called when that happens.
   */
  onRebuild?: () => void;
  dispose(): Promise<void>;
}

type DevEvent = Parameters<InstanceType<typeof unstable_DevEnv>["dispatch"]>[0];

/**
 * DevEnv that reports where the runtime put the user Worker (the dev proxy
 * keeps that private). worker.url resolves as soon as the proxy listens, before
 * the Worker is bundled and running; reloadComplete means it is.
 */
class TappedDevEnv extends unstable_DevEnv {
  #onReady?: (url: string) => void;
  readonly userWorkerUrl = new Promise<string>((resolve) => (this.#onReady = resolve));
  #ready = false;
  onRebuild?: () => void;

  override dispatch(event: DevEvent): void {
    if (event.type === "reloadComplete" && !this.#ready) {
      const u = event.proxyData.userWorkerUrl;
      this.#ready = true;
      this.#onReady?.(`${u.protocol}//${u.hostname}:${u.port}`);
    } else if (event.type === "bundleStart" && this.#ready) {
      this.onRebuild?.();
    }
    super.dispatch(event);
  }
}

const ROOT = new URL("../", import.meta.url).pathname;

/**
 * Every local relay's temp folders not removed yet. A process that exits
 * without dispose() (npm start on Ctrl-C or SIGTERM: wrangler's own signal
 * handlers exit at once) still leaves none behind. One exit hook for all the
 * relays of a process (a test file starts several).
 */
const tempFoldersLeft = new Set<string>();
process.on("exit", () => {
  for (const dir of tempFoldersLeft) rmSync(dir, { recursive: true, force: true });
});

export async function startLocalRelay(options: LocalRelayOptions = {}): Promise<LocalRelay> {
  // Miniflare otherwise fetches a Request.cf sample from workers.cloudflare.com
  // (up to a 3 s timeout, and a warning when offline); the relay never reads request.cf.
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  // The web app is built before (npm start, .ci/run, the browser tests): not by wrangler's [build] at every start.
  process.env.AIRLOCK_WEB_BUILT ??= "1";
  const bindings: Record<string, Binding> = { ...options.bindings };
  for (const [k, value] of Object.entries(options.vars ?? {})) bindings[k] = { type: "plain_text", value };

  // Temp folders this relay owns, removed on dispose (or at exit: see tempFoldersLeft).
  const owned: string[] = [];
  const temp = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    owned.push(dir);
    tempFoldersLeft.add(dir);
    return dir;
  };
  const removeOwned = () => {
    for (const dir of owned.splice(0)) {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      tempFoldersLeft.delete(dir);
    }
  };

  const devEnv = new TappedDevEnv();
  let worker: Awaited<ReturnType<typeof devEnv.startWorker>> | undefined;
  try {
    // Serve a snapshot of web/public: a rebuild of the web app (another test
    // file, a developer) while this relay runs would otherwise make wrangler
    // reload the Worker, dropping every socket with 1006.
    const assets = temp("airlock-relay-assets-");
    cpSync(join(ROOT, "web/public"), assets, { recursive: true });
    worker = await devEnv.startWorker({
      config: join(ROOT, "wrangler.toml"),
      assets,
      bindings,
      dev: {
        server: { hostname: "127.0.0.1", port: options.port ?? 0 },
        inspector: false,
        watch: false,
        persist: options.persistDir ?? temp("airlock-relay-"),
        // A private dev registry: every local relay has the same worker name, and
        // wrangler's shared registry would let one relay's bindings find another's.
        registry: temp("airlock-relay-registry-"),
        logLevel: options.logLevel ?? "error",
      },
    } as Parameters<typeof devEnv.startWorker>[0]);
    const url = (await worker.url).toString().replace(/\/$/, "");
    const started = worker;
    const relay: LocalRelay = {
      url,
      async directUrl(timeoutMs = 60_000) {
        let timer: NodeJS.Timeout | undefined;
        try {
          return await Promise.race([
            devEnv.userWorkerUrl,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`the relay's Worker did not start within ${timeoutMs / 1000} s`)), timeoutMs);
            }),
          ]);
        } finally {
          clearTimeout(timer);
        }
      },
      async dispose() {
        try {
          await started.dispose();
        } finally {
          removeOwned();
        }
      },
    };
    devEnv.onRebuild = () => relay.onRebuild?.();
    return relay;
  } catch (e) {
    try {
      await worker?.dispose();
    } finally {
      removeOwned();
    }
    throw e;
  }
}
