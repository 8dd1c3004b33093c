// The live side of an adapter's threads: each host thread's state, found by
// host id or by the agent's own id (Codex thread, ACP session), and whether it
// is loaded in the current agent process. A thread not loaded there (the
// process restarted, or the host did) is loaded lazily, one load at a time.
import { AgentError } from "../agent.ts";

export interface LoadedThread {
  hostId: string;
  /** Generation of the agent process the thread is loaded in. */
  loadedIn?: number | undefined;
  /** The load (thread/resume, session/load) in progress. */
  loading?: Promise<void> | undefined;
}

export class LoadedThreads<L extends LoadedThread> {
  readonly #byHost = new Map<string, L>();
  readonly #byAgentId = new Map<string, string>();

  constructor(private readonly create: (hostId: string, agentId: string) => L) {}

  get(hostId: string): L | undefined {
    return this.#byHost.get(hostId);
  }

  values(): IterableIterator<L> {
    return this.#byHost.values();
  }

  /** The host thread an agent's thread id belongs to. */
  hostIdOf(agentId: string | undefined): string | undefined {
    return agentId === undefined ? undefined : this.#byAgentId.get(agentId);
  }

  /** Known before its live state exists (the saved map at start). */
  link(agentId: string, hostId: string): void {
    this.#byAgentId.set(agentId, hostId);
  }

  /** The thread's live state, created on first use. */
  open(hostId: string, agentId: string): L {
    let live = this.#byHost.get(hostId);
    if (!live) {
      live = this.create(hostId, agentId);
      this.#byHost.set(hostId, live);
    }
    this.#byAgentId.set(agentId, hostId);
    return live;
  }

  /** The threads loaded in a process that died, marked not loaded. */
  unload(gen: number): L[] {
    const out: L[] = [];
    for (const live of this.#byHost.values()) {
      if (live.loadedIn !== gen) continue;
      live.loadedIn = undefined;
      live.loading = undefined;
      out.push(live);
    }
    return out;
  }
}

export interface LoadOptions<R extends { gen: number }> {
  /** The live process (waiting for a restart in progress). */
  current(): Promise<R>;
  /** Whether `running` is still the live process. */
  isLive(running: R): boolean;
  /** Loads the thread into `running`; sets `loadedIn` when it is done and `running` is still live. */
  load(running: R): Promise<void>;
  /** The error's message when it still is not loaded after a second try. */
  failure: string;
}

/** The process `live` is loaded in, loading it first when it is not; one more try if the process dies mid-load. */
export async function ensureLoaded<R extends { gen: number }>(live: LoadedThread, options: LoadOptions<R>): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    const running = await options.current();
    if (live.loadedIn === running.gen) return running;
    if (!live.loading) {
      const loading = options.load(running);
      live.loading = loading;
      const done = () => {
        if (live.loading === loading) live.loading = undefined;
      };
      loading.then(done, done);
    }
    try {
      await live.loading;
    } catch (error) {
      // The process may have died mid-load: one more try against its successor.
      if (attempt >= 1 || !(error instanceof AgentError) || error.code !== "AGENT_UNAVAILABLE") throw error;
    }
    if (live.loadedIn === running.gen && options.isLive(running)) return running;
    if (attempt >= 1) throw new AgentError("AGENT_UNAVAILABLE", options.failure);
  }
}
