// The demo agent: a built-in, offline, clearly labelled stand-in for a real
// coding agent, so `npm start` shows the whole loop on any machine without a
// vendor account. It is NOT a model: each turn follows a fixed script in a
// scratch workspace, and every action goes through the same approval path a
// real adapter uses (host.requestApproval), then really happens:
//   1. list the workspace (`ls -la`, read-only → continue tier)
//   2. write notes/<n>-<slug>.md holding the prompt (a file change with its diff)
//   3. check the note (`grep -c … notes/…`), reported as a test result
// Words in the prompt add steps, so every tier can be tried:
//   "question" → asks which heading to use first (a steer-tier question)
//   "install"  → `npm install --no-audit left-pad` (network → expand tier)
//   "push"     → `git push origin main` (commit tier: host terminal only by default)
//   "fail"     → the check fails
import { spawn } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { ModelInfo, ThreadEvent } from "@airlock/protocol";
import type { Agent, AgentHost, AgentStartContext, AgentThreadInfo, ApprovalVerdict, StartThreadOptions, TurnSettings } from "../agent.ts";
import { AgentError } from "../agent.ts";
import { prepareDemoSandbox, type DemoSandbox } from "./demo-sandbox.ts";
import { messageOf } from "../error-message.ts";

export interface DemoAgentOptions {
  /** The scratch workspace (default: <dataDir>/workspace). */
  workspace?: string;
  /** Pause between streamed chunks, so a turn looks (and tests) like a stream. */
  chunkDelayMs?: number;
  /** Longest a demo command may run. */
  commandTimeoutMs?: number;
}

interface ThreadState {
  title: string;
  updatedAt: number;
  turn?: Turn;
  steering: string[];
  settings: TurnSettings;
}

interface Turn {
  id: string;
  interrupted: boolean;
  /** Kills the running command on interrupt. */
  abort: AbortController;
  done: Promise<void>;
}

const MAX_OUTPUT_CHUNK = 16 * 1024;
/** What an approval request ends with when the turn is interrupted before anyone decides. */
const CANCELLED: ApprovalVerdict = { decision: "cancel", by: "host" };

export class DemoAgent implements Agent {
  readonly info = { kind: "demo", label: "Demo agent (offline, built in; runs a fixed script, not a model)" };
  readonly defaultModel = "demo-1";
  #o: DemoAgentOptions;
  #host?: AgentHost;
  #workspace = "";
  #threads = new Map<string, ThreadState>();
  #turns = 0;
  #items = 0;
  #nextNote = 1;
  #sandbox: DemoSandbox | undefined;
  #notesScanned: Promise<void> | undefined;

  constructor(options: DemoAgentOptions = {}) {
    this.#o = options;
  }

  get workspace(): string {
    return this.#workspace;
  }

  async start(context: AgentStartContext): Promise<void> {
    this.#host = context.host;
    this.#workspace = this.#o.workspace ?? join(context.dataDir, "workspace");
    await mkdir(join(this.#workspace, "notes"), { recursive: true });
    const readme = join(this.#workspace, "README.md");
    await writeFile(readme, "# Airlock demo workspace\n\nThe demo agent writes notes here. Safe to delete.\n", { flag: "wx" }).catch(() => undefined);
    // Its commands run for real: nothing they do may leave the workspace (demo-sandbox.ts).
    this.#sandbox = await prepareDemoSandbox(this.#workspace);
  }

  async listModels(): Promise<ModelInfo[]> {
    return [
      { id: "demo-1", name: "Demo", efforts: ["low", "medium", "high"], defaultEffort: "medium" },
      { id: "demo-fast", name: "Demo (fast)", efforts: ["low"], defaultEffort: "low" },
    ];
  }

  async listThreads(): Promise<AgentThreadInfo[]> {
    return [...this.#threads].map(([threadId, t]) => ({ threadId, title: t.title, updatedAt: t.updatedAt }));
  }

  async readThread(threadId: string): Promise<ThreadEvent[]> {
    if (!this.#threads.has(threadId)) throw new AgentError("THREAD_NOT_FOUND", `the demo agent has no thread ${threadId}`);
    return []; // the demo keeps no history of its own; the host's event store has it
  }

  async startThread(threadId: string, prompt: string, options: StartThreadOptions): Promise<void> {
    const settings: TurnSettings = { ...(options.model ? { model: options.model } : {}), ...(options.effort ? { effort: options.effort } : {}) };
    this.#threads.set(threadId, { title: prompt.split("\n")[0]!.slice(0, 120), updatedAt: Date.now(), steering: [], settings });
    await this.#startTurn(threadId, prompt);
  }

  async resumeThread(threadId: string): Promise<void> {
    // Threads survive restarts in the host's event store; the demo needs no state to continue one.
    if (!this.#threads.has(threadId)) this.#threads.set(threadId, { title: threadId, updatedAt: Date.now(), steering: [], settings: {} });
  }

  async sendMessage(threadId: string, text: string, settings: TurnSettings): Promise<void> {
    await this.resumeThread(threadId);
    const t = this.#threads.get(threadId)!;
    t.settings = { ...t.settings, ...settings };
    // A follow-up while a turn runs steers it (as Codex does); waiting for the
    // turn here would block the device's next command, e.g. its approval.
    if (t.turn) return this.steer(threadId, text);
    await this.#startTurn(threadId, text);
  }

  async steer(threadId: string, text: string): Promise<void> {
    await this.resumeThread(threadId);
    const t = this.#threads.get(threadId)!;
    if (!t.turn) return this.#startTurn(threadId, text);
    t.steering.push(text.slice(0, 2000));
    await this.#host!.emit(threadId, { kind: "notice", level: "info", text: `Steering noted; the demo agent will mention it in its summary.` });
  }

  async interrupt(threadId: string): Promise<void> {
    const turn = this.#threads.get(threadId)?.turn;
    if (!turn) throw new AgentError("TURN_NOT_RUNNING", "no turn is running in this thread");
    turn.interrupted = true;
    turn.abort.abort();
    await turn.done;
  }

  async setSettings(threadId: string, settings: TurnSettings): Promise<void> {
    await this.resumeThread(threadId);
    const t = this.#threads.get(threadId)!;
    t.settings = { ...t.settings, ...settings };
  }

  async close(): Promise<void> {
    for (const t of this.#threads.values()) {
      if (!t.turn) continue;
      t.turn.interrupted = true;
      t.turn.abort.abort();
    }
    await Promise.all([...this.#threads.values()].map((t) => t.turn?.done));
  }

  async #startTurn(threadId: string, prompt: string): Promise<void> {
    const host = this.#host;
    if (!host) throw new AgentError("AGENT_UNAVAILABLE", "the demo agent was not started");
    const t = this.#threads.get(threadId)!;
    const turnId = `turn_${++this.#turns}`;
    const turn: Turn = { id: turnId, interrupted: false, abort: new AbortController(), done: Promise.resolve() };
    t.turn = turn;
    t.updatedAt = Date.now();
    await host.status(threadId, "running");
    await host.emit(threadId, { kind: "turn.status", turnId, status: "started" });
    await host.emit(threadId, { kind: "message.user", itemId: this.#item("u"), text: prompt });
    // The turn is over for callers (a follow-up starts a new turn) before its end is announced.
    const end = () => {
      if (t.turn === turn) delete t.turn;
    };
    turn.done = this.#script(threadId, turnId, prompt, turn)
      .then(async (outcome) => {
        end();
        // A request that reached the broker after the interrupt would wait for nobody.
        if (turn.interrupted) host.withdraw(threadId, "the turn was interrupted");
        await host.emit(threadId, { kind: "turn.status", turnId, status: outcome });
        await host.status(threadId, "idle");
      })
      .catch(async (e: unknown) => {
        end();
        const message = messageOf(e);
        host.log(`demo turn failed: ${message}`);
        await host.emit(threadId, { kind: "turn.status", turnId, status: "failed", error: message.slice(0, 2000) }).catch(() => undefined);
        await host.status(threadId, "failed").catch(() => undefined);
      });
  }

  /** The fixed script; returns how the turn ended. */
  async #script(threadId: string, turnId: string, prompt: string, turn: Turn): Promise<"completed" | "interrupted"> {
    const host = this.#host!;
    const ws = this.#workspace;
    const words = prompt.toLowerCase();
    const slug =
      prompt
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, "")
        .slice(0, 40) || "note";
    let note = noteName(await this.#allocateNote(), slug);
    const stopped = () => turn.interrupted;

    const steps = ["List the workspace", `Write ${note}`, "Check the note"];
    if (words.includes("install")) steps.push("Install a package");
    if (words.includes("push")) steps.push("Push the branch");
    const plan = (done: number): ThreadEvent => ({
      kind: "plan.update",
      steps: steps.map((text, i) => ({ text, status: i < done ? "completed" : i === done ? "in_progress" : "pending" })),
    });

    await this.#say(
      threadId,
      `Demo agent (offline, a fixed script, not a model). I will list the workspace, write ${note} with your prompt, and check it.`,
      stopped,
    );
    if (stopped()) return "interrupted";
    await host.emit(threadId, plan(0));

    let heading = "Note";
    if (words.includes("question")) {
      const reply = await this.#unlessInterrupted(
        turn,
        null,
        host.askQuestion(threadId, {
          turnId,
          text: "Which heading should the note use?",
          options: [
            { id: "note", label: "Note" },
            { id: "todo", label: "To do" },
          ],
        }),
      );
      if (stopped()) return "interrupted";
      heading = reply === null ? "Note" : reply.optionId === "todo" ? "To do" : reply.optionId === "note" ? "Note" : reply.answer.slice(0, 80) || "Note";
    }

    // 1. A read-only command.
    const r1 = await this.#command(threadId, turn, "ls -la", `See what is in the workspace before writing to it.`, `write ${note}`);
    if (r1 === "cancel" || stopped()) return "interrupted";
    await host.emit(threadId, plan(1));

    // 2. A file change, with its diff.
    const content = `# ${heading}\n\n${prompt.slice(0, 4000)}\n${
      this.#threads
        .get(threadId)
        ?.steering.map((s) => `\nSteering: ${s}\n`)
        .join("") ?? ""
    }`;
    const diff = unifiedAddDiff(note, content);
    const fileItem = this.#item("f");
    const v2 = await this.#unlessInterrupted(
      turn,
      CANCELLED,
      host.requestApproval(threadId, {
        type: "file_change",
        turnId,
        itemId: fileItem,
        cwd: ws,
        reason: "Record the prompt as a note in the workspace.",
        files: [{ path: note, change: "add", diff }],
        next: `check ${note}`,
      }),
    );
    if (v2.decision === "cancel" || stopped()) return "interrupted";
    const wrote = v2.decision !== "deny";
    if (wrote) {
      const written = await this.#writeNote(note, slug, content);
      if (written !== note) {
        await host.emit(threadId, { kind: "notice", level: "info", text: `${note} appeared meanwhile; wrote ${written} instead.` });
        note = written;
      }
      await host.emit(threadId, { kind: "file.change", itemId: fileItem, path: note, change: "add", diff: unifiedAddDiff(note, content) });
    } else {
      await host.emit(threadId, { kind: "notice", level: "info", text: `Not writing ${note}: denied by ${v2.by}.` });
    }
    await host.emit(threadId, plan(2));

    // 3. A check, reported as a test result.
    const target = words.includes("fail") ? `${note}.missing` : note;
    const r3 = await this.#command(
      threadId,
      turn,
      `grep -c . ${target}`,
      "Check that the note exists and is not empty.",
      words.includes("install") ? "install a package" : "summarise",
    );
    if (r3 === "cancel" || stopped()) return "interrupted";
    if (typeof r3 === "object")
      await host.emit(threadId, {
        kind: "test.result",
        itemId: this.#item("t"),
        name: `note ${note} is written`,
        status: r3.exitCode === 0 ? "passed" : "failed",
      });

    let next = 3;
    if (words.includes("install")) {
      await host.emit(threadId, plan(next++));
      const r = await this.#command(
        threadId,
        turn,
        "npm install --no-audit --no-fund left-pad",
        "Demonstrates an expand-tier request: a package install reaches the network.",
        "summarise",
      );
      if (r === "cancel" || stopped()) return "interrupted";
    }
    if (words.includes("push")) {
      await host.emit(threadId, plan(next++));
      if (this.#sandbox?.ownOrigin) {
        const r = await this.#command(
          threadId,
          turn,
          "git push origin main",
          "Demonstrates a commit-tier request: publishing work (to the workspace's own local origin).",
          "summarise",
        );
        if (r === "cancel" || stopped()) return "interrupted";
      } else {
        await host.emit(threadId, {
          kind: "notice",
          level: "info",
          text: `Skipping the push step: ${this.#sandbox?.pushSkipped ?? "the sandbox is not ready"}.`,
        });
      }
    }
    await host.emit(threadId, plan(steps.length));
    const files = await this.#workspaceFiles();
    await this.#say(
      threadId,
      `Done. ${wrote ? `Wrote ${note}.` : "Wrote nothing."} The workspace now has ${files.length} file${files.length === 1 ? "" : "s"}: ${files.slice(0, 10).join(", ")}${files.length > 10 ? ", …" : ""}.`,
      stopped,
    );
    return stopped() ? "interrupted" : "completed";
  }

  /**
   * The next note number. Numbers are handed out in memory (one per turn, never
   * twice, also for turns running at once), starting after the highest number
   * already in notes/.
   */
  async #allocateNote(): Promise<number> {
    this.#notesScanned ??= readdir(join(this.#workspace, "notes"))
      .catch(() => [] as string[])
      .then((names) => {
        for (const name of names) {
          const n = /^(\d{1,9})-/.exec(name)?.[1];
          if (n !== undefined) this.#nextNote = Math.max(this.#nextNote, Number(n) + 1);
        }
      });
    await this.#notesScanned;
    return this.#nextNote++;
  }

  /** Writes a new note; if its name was taken meanwhile (another process), the next free number. Returns the path used. */
  async #writeNote(note: string, slug: string, content: string): Promise<string> {
    let path = note;
    for (let attempt = 0; ; attempt++) {
      try {
        await writeFile(join(this.#workspace, path), content, { flag: "wx" });
        return path;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 100) throw e;
        path = noteName(await this.#allocateNote(), slug);
      }
    }
  }

  /**
   * A request to a human that an interrupt ends at once: the turn stops even
   * when the interrupt came while the request was still on its way to the
   * broker (its card is withdrawn when the turn ends).
   */
  #unlessInterrupted<T>(turn: Turn, interrupted: T, ask: Promise<T>): Promise<T> {
    if (turn.abort.signal.aborted) return Promise.resolve(interrupted);
    return new Promise<T>((resolve, reject) => {
      const stop = () => resolve(interrupted);
      turn.abort.signal.addEventListener("abort", stop, { once: true });
      ask.then(resolve, reject).finally(() => turn.abort.signal.removeEventListener("abort", stop));
    });
  }

  /** Asks for approval, then runs the command for real; "denied", "cancel" or the outcome. */
  async #command(threadId: string, turn: Turn, command: string, reason: string, next: string): Promise<"denied" | "cancel" | { exitCode: number | null }> {
    const host = this.#host!;
    const itemId = this.#item("c");
    const verdict = await this.#unlessInterrupted(
      turn,
      CANCELLED,
      host.requestApproval(threadId, { type: "command", turnId: turn.id, itemId, command, cwd: this.#workspace, reason, next }),
    );
    if (turn.interrupted) return "cancel";
    if (verdict.decision === "cancel") return "cancel";
    if (verdict.decision === "deny") {
      await host.emit(threadId, { kind: "notice", level: "info", text: `Skipped \`${command}\`: denied by ${verdict.by}.` });
      return "denied";
    }
    await host.emit(threadId, { kind: "command.started", itemId, command, cwd: this.#workspace });
    const started = Date.now();
    const exitCode = await this.#run(command, turn.abort.signal, async (stream, chunk) => {
      await host.emit(threadId, { kind: "command.output", itemId, stream, chunk });
    });
    await host.emit(threadId, { kind: "command.finished", itemId, exitCode, durationMs: Date.now() - started });
    return { exitCode };
  }

  #run(command: string, signal: AbortSignal, onOutput: (stream: "stdout" | "stderr", chunk: string) => Promise<void>): Promise<number | null> {
    return new Promise((resolve) => {
      const env = this.#sandbox?.env ?? { ...process.env, NO_COLOR: "1" };
      const child = spawn("/bin/sh", ["-c", command], { cwd: this.#workspace, stdio: ["ignore", "pipe", "pipe"], env, signal, killSignal: "SIGKILL" });
      let chain = Promise.resolve();
      const forward = (stream: "stdout" | "stderr") => (data: Buffer) => {
        const text = data.toString("utf8");
        for (let i = 0; i < text.length; i += MAX_OUTPUT_CHUNK) {
          const chunk = text.slice(i, i + MAX_OUTPUT_CHUNK);
          chain = chain.then(() => onOutput(stream, chunk)).catch(() => undefined);
        }
      };
      child.stdout.on("data", forward("stdout"));
      child.stderr.on("data", forward("stderr"));
      const timer = setTimeout(() => child.kill("SIGKILL"), this.#o.commandTimeoutMs ?? 60_000);
      child.on("error", (e) => {
        if (e.name === "AbortError") return; // interrupted: "close" follows
        clearTimeout(timer);
        chain = chain.then(() => onOutput("stderr", `${e.message}\n`)).catch(() => undefined);
        chain.then(
          () => resolve(127),
          () => resolve(127),
        );
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        chain.then(
          () => resolve(code),
          () => resolve(code),
        );
      });
    });
  }

  /** Streams a message in small chunks, then completes it. */
  async #say(threadId: string, text: string, stopped: () => boolean): Promise<void> {
    const host = this.#host!;
    const itemId = this.#item("m");
    const words = text.split(" ");
    for (let i = 0; i < words.length; i += 4) {
      if (stopped()) break;
      await host.emit(threadId, { kind: "message.delta", itemId, text: words.slice(i, i + 4).join(" ") + (i + 4 < words.length ? " " : "") });
      await new Promise((resolve) => setTimeout(resolve, this.#o.chunkDelayMs ?? 60));
    }
    await host.emit(threadId, { kind: "message.completed", itemId, text });
  }

  async #workspaceFiles(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (e.name.startsWith(".") || e.name === "node_modules") continue;
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else out.push(relative(this.#workspace, p));
      }
    };
    await walk(this.#workspace);
    return out.sort();
  }

  #item(prefix: string): string {
    return `${prefix}_${++this.#items}_${Date.now().toString(36)}`;
  }
}

/** A unified diff that adds a new file. */
export function unifiedAddDiff(path: string, content: string): string {
  const lines = content.endsWith("\n") ? content.slice(0, -1).split("\n") : content.split("\n");
  return [`--- /dev/null`, `+++ b/${path}`, `@@ -0,0 +1,${lines.length} @@`, ...lines.map((l) => `+${l}`)].join("\n") + "\n";
}

function noteName(n: number, slug: string): string {
  return `notes/${String(n).padStart(3, "0")}-${slug}.md`;
}
