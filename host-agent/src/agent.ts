// The interface every coding agent adapter implements, and the built-in demo
// agent. Adapters know nothing about relays or devices: they receive calls and
// report thread events through an EventSink; the app server persists and
// delivers them. (The full adapter surface, approvals and the Codex adapter
// arrive with the agents issue.)
import type { ModelInfo, ThreadEvent } from "@airlock/protocol";

export interface EventSink {
  /** Records one event of a thread (persisted before any device sees it). */
  emit(threadId: string, event: ThreadEvent): Promise<void>;
  /** Updates the thread's summary status. */
  status(threadId: string, status: "idle" | "running" | "waiting" | "failed"): Promise<void>;
}

export interface AgentTurnOptions {
  model?: string;
  effort?: "minimal" | "low" | "medium" | "high" | "xhigh";
}

export interface Agent {
  readonly info: { kind: string; label: string; version?: string };
  readonly models: ModelInfo[];
  readonly defaultModel?: string;
  /** Starts a thread's first turn. Resolves once the turn is under way (not finished). */
  startThread(threadId: string, prompt: string, options: AgentTurnOptions, sink: EventSink): Promise<void>;
  sendMessage(threadId: string, text: string, sink: EventSink): Promise<void>;
  steer(threadId: string, text: string, sink: EventSink): Promise<void>;
  interrupt(threadId: string, sink: EventSink): Promise<void>;
  close(): Promise<void>;
}

/**
 * A clearly labelled offline stand-in: it answers each prompt with a short
 * streamed reply. It runs nothing (the agents issue makes it run real commands
 * through the approval path).
 */
export class DemoAgent implements Agent {
  readonly info = { kind: "demo", label: "Demo agent (offline, built in)" };
  readonly models: ModelInfo[] = [{ id: "demo-1", name: "Demo", efforts: ["low", "medium", "high"], defaultEffort: "medium" }];
  readonly defaultModel = "demo-1";
  #turns = 0;
  #interrupted = new Set<string>();
  #running = new Map<string, Promise<void>>();
  /** Pause between streamed chunks, so a turn looks (and tests) like a stream. */
  readonly #chunkDelayMs: number;

  constructor(options: { chunkDelayMs?: number } = {}) {
    this.#chunkDelayMs = options.chunkDelayMs ?? 60;
  }

  async startThread(threadId: string, prompt: string, _options: AgentTurnOptions, sink: EventSink): Promise<void> {
    await this.#turn(threadId, prompt, sink);
  }

  async sendMessage(threadId: string, text: string, sink: EventSink): Promise<void> {
    await this.#turn(threadId, text, sink);
  }

  async steer(threadId: string, text: string, sink: EventSink): Promise<void> {
    await sink.emit(threadId, { kind: "notice", level: "info", text: `Steering noted: ${text.slice(0, 200)}` });
  }

  async interrupt(threadId: string, _sink: EventSink): Promise<void> {
    this.#interrupted.add(threadId);
    await this.#running.get(threadId);
  }

  async close(): Promise<void> {
    await Promise.all(this.#running.values());
  }

  async #turn(threadId: string, prompt: string, sink: EventSink): Promise<void> {
    await this.#running.get(threadId); // one turn at a time per thread
    const turnId = `turn_${++this.#turns}`;
    const itemId = `msg_${this.#turns}`;
    this.#interrupted.delete(threadId);
    await sink.status(threadId, "running");
    await sink.emit(threadId, { kind: "turn.status", turnId, status: "started" });
    await sink.emit(threadId, { kind: "message.user", itemId: `${itemId}_u`, text: prompt });
    const run = (async () => {
      const reply = `Demo agent here. You asked: "${prompt.slice(0, 500)}". I am a stand-in that runs nothing; connect a real agent with --agent.`;
      const words = reply.split(" ");
      for (let i = 0; i < words.length; i += 4) {
        if (this.#interrupted.has(threadId)) {
          await sink.emit(threadId, { kind: "turn.status", turnId, status: "interrupted" });
          await sink.status(threadId, "idle");
          return;
        }
        await sink.emit(threadId, { kind: "message.delta", itemId, text: words.slice(i, i + 4).join(" ") + " " });
        await new Promise((resolve) => setTimeout(resolve, this.#chunkDelayMs));
      }
      await sink.emit(threadId, { kind: "message.completed", itemId, text: reply });
      await sink.emit(threadId, { kind: "turn.status", turnId, status: "completed" });
      await sink.status(threadId, "idle");
    })();
    this.#running.set(threadId, run);
    void run.finally(() => {
      if (this.#running.get(threadId) === run) this.#running.delete(threadId);
    });
  }
}
