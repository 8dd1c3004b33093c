// <airlock-thread>: renders a thread's events in order. Set `events` (history,
// {seq, event}[]) and call `appendEvent(seq, event)` for live ones; repeated or
// older seqs are ignored, so replays after a reconnect are harmless. Approval
// and question cards inside dispatch `decide` / `answer`, which bubble out of
// this element. A polite live region announces what changed.
import { BASE_CSS } from "./theme.ts";
import { adoptStyles, formatDuration, h, replace, revealInvisible, str } from "./dom.ts";
import { defineOnce } from "./registry.ts";
import { AirlockApprovalElement } from "./approval.ts";
import { AirlockQuestionElement } from "./question.ts";
import { AirlockDiffElement } from "./diff.ts";
import { AirlockTerminalElement } from "./terminal.ts";
import { ImageAssembler } from "./image.ts";
import { MARKDOWN_CSS, renderMarkdown } from "./markdown.ts";
import { parseUnifiedDiff } from "./diff-parse.ts";
import type { EventOf, SequencedEvent, ThreadEvent } from "./types.ts";

const CSS = `
.list { display: flex; flex-direction: column; gap: 0.75rem; }
.msg { max-width: 92%; padding: 0.625rem 0.875rem; border-radius: var(--_radius); white-space: pre-wrap; overflow-wrap: anywhere; overflow-anchor: none; }
.msg.agent { white-space: normal; min-width: 0; }
.msg .md { overflow-wrap: anywhere; }
.msg.user { align-self: flex-end; background: var(--_accent); color: var(--_accent-fg); border-bottom-right-radius: 4px; }
.msg.agent { align-self: flex-start; background: var(--_surface); border-bottom-left-radius: 4px; }
.msg.streaming .md > :last-child::after { content: "▍"; animation: blink 1s steps(2) infinite; }
@keyframes blink { 50% { opacity: 0; } }
.who { display: block; font-size: 0.75rem; margin-bottom: 0.125rem; }
.cmd { border: 1px solid var(--_border); border-radius: var(--_radius); overflow: hidden; background: var(--_bg); }
.cmd > summary { min-height: 44px; display: grid; grid-template-columns: auto 1fr; gap: 0.125rem 0.5rem; padding: 0.375rem 0.75rem; cursor: pointer;
  list-style: none; background: var(--_surface); }
.cmd > summary::-webkit-details-marker { display: none; }
.cmd > summary::before { content: "▸"; color: var(--_muted); transition: transform 0.15s; grid-row: 1; align-self: center; }
.cmd[open] > summary::before { transform: rotate(90deg); }
.cmd-line { font-family: var(--_mono-font); font-size: var(--_text-sm); white-space: pre-wrap; overflow-wrap: anywhere; min-width: 0; }
.cmd-meta { grid-column: 2; font-size: 0.8125rem; color: var(--_muted); display: flex; flex-wrap: wrap; gap: 0 0.5rem; overflow-wrap: anywhere; min-width: 0; }
.cmd airlock-terminal { margin: 0.5rem; }
.exit-ok { color: var(--_success); font-weight: 700; } .exit-fail { color: var(--_danger); font-weight: 700; }
.change { font-size: 0.8125rem; color: var(--_muted); margin: 0 0 0.25rem; }
.plan h4, .tests h4 { margin: 0 0 0.375rem; font-size: 0.875rem; }
.plan ol { margin: 0; padding-left: 1.5rem; }
.plan li[data-status="completed"] { color: var(--_muted); text-decoration: line-through; }
.plan li[data-status="in_progress"] { font-weight: 700; }
.plan li[data-status="stopped"] { color: var(--_muted); }
.plan li[data-status="denied"] { color: var(--_danger); }
.plan h4 .muted { font-weight: 400; }
.test { display: flex; gap: 0.5rem; align-items: baseline; }
.test.passed .icon { color: var(--_success); } .test.failed .icon { color: var(--_danger); } .test.skipped .icon { color: var(--_muted); }
.test details { font-size: 0.875rem; } .test pre { white-space: pre-wrap; margin: 0.25rem 0 0; }
figure { margin: 0; } figure img { max-width: 100%; height: auto; border-radius: 8px; border: 1px solid var(--_border); display: block; }
figcaption { font-size: 0.8125rem; color: var(--_muted); }
.notice { margin: 0; font-size: 0.875rem; padding: 0.5rem 0.75rem; border-radius: 8px; background: var(--_surface); overflow-wrap: anywhere; }
.notice.warning { color: var(--_warning); } .notice.error { color: var(--_danger); }
.turn { margin: 0; text-align: center; font-size: 0.75rem; color: var(--_muted); text-transform: uppercase; letter-spacing: 0.04em; }
.turn.failed, .turn.interrupted { color: var(--_danger); }
.usage { margin: 0; font-size: 0.75rem; color: var(--_muted); text-align: right; }
.status { margin-top: 0.75rem; font-size: 0.875rem; color: var(--_muted); min-height: 1.3em; }
.empty { color: var(--_muted); text-align: center; padding: 2rem 0; }
.tool > summary, .thinking > summary { min-height: 36px; }
.tool .cmd-line, .turn-diff .cmd-line { font-family: inherit; }
.tool-body { margin: 0; padding: 0.5rem 0.75rem; font-size: 0.8125rem; display: grid; gap: 0.375rem; }
.tool-body pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-family: var(--_mono-font); max-height: 16rem; overflow: auto; }
.tool-body .label { color: var(--_muted); font-size: 0.75rem; }
.thinking { border-style: dashed; }
.thinking .cmd-line { font-family: inherit; color: var(--_muted); font-style: italic; }
.thinking .md { padding: 0.5rem 0.75rem; color: var(--_muted); font-size: 0.875rem; }
.running { color: var(--_muted); } .done { color: var(--_success); } .failed { color: var(--_danger); }
`;

type Kind = ThreadEvent["kind"];
type Handlers = { [K in Kind]: (e: EventOf<K>) => void };

const PLAN_ICON = { pending: "○", in_progress: "▶", completed: "✓", stopped: "■", denied: "✗" } as const;
const PLAN_SR = { pending: "to do", in_progress: "in progress", completed: "done", stopped: "stopped: the turn ended", denied: "not done: denied" } as const;
type StepStatus = keyof typeof PLAN_ICON;
const TEST_ICON = { passed: "✓", failed: "✗", skipped: "–" } as const;
const CHANGE_LABEL = { add: "Added", modify: "Modified", delete: "Deleted", rename: "Renamed" } as const;
const TOOL_STATE = { running: "Running…", completed: "Done", failed: "Failed" } as const;

/** What a tool call did, in words: "Searched the web", "glossary · lookup (MCP)", … */
function toolTitle(name: string): string {
  if (name === "web_search") return "Searched the web";
  if (name === "view_image") return "Viewed an image";
  if (name === "image_generation") return "Generated an image";
  const mcp = /^mcp:([^/]*)\/(.*)$/s.exec(name);
  return mcp ? `${mcp[1]} · ${mcp[2]} (MCP tool)` : name;
}

export class AirlockThreadElement extends HTMLElement {
  #root: ShadowRoot;
  #list: HTMLElement;
  #status: HTMLElement;
  #lastSeq = 0;
  #live = false;
  #running = false;
  #messages = new Map<string, { el: HTMLElement; body: HTMLElement; source: string; queued: boolean }>();
  #commands = new Map<string, { term: AirlockTerminalElement; meta: HTMLElement; state: HTMLElement; el: HTMLDetailsElement }>();
  #approvals = new Map<string, AirlockApprovalElement>();
  #questions = new Map<string, AirlockQuestionElement>();
  #images = new Map<string, { asm?: ImageAssembler; el: HTMLElement; done: boolean }>();
  #urls: string[] = [];
  /** One plan card per turn, with the steps as the agent last sent them. */
  #plans = new Map<string, { el: HTMLElement; steps: EventOf<"plan.update">["steps"]; ended?: "interrupted" | "failed" }>();
  /** What was denied in each turn (file paths, commands), so a plan does not call it done. */
  #denied = new Map<string, Set<string>>();
  #approvalTurn = new Map<string, string>();
  /** Reasoning, tool calls and turn diffs: one block each, updated in place by later events. */
  #blocks = new Map<string, { el: HTMLDetailsElement; line: HTMLElement; meta: HTMLElement; body: HTMLElement }>();
  #turn = "";
  #turns = 0;

  constructor() {
    super();
    defineOnce("airlock-approval", AirlockApprovalElement);
    defineOnce("airlock-question", AirlockQuestionElement);
    defineOnce("airlock-diff", AirlockDiffElement);
    defineOnce("airlock-terminal", AirlockTerminalElement);
    this.#root = this.attachShadow({ mode: "open" });
    adoptStyles(this.#root, BASE_CSS, MARKDOWN_CSS, CSS);
    this.#list = h("div", { class: "list" });
    this.#status = h("div", { class: "status", role: "status", "aria-live": "polite" });
    this.#root.append(this.#list, this.#status);
    this.clear();
  }

  /** The highest seq rendered. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** True while a turn runs. */
  get running(): boolean {
    return this.#running;
  }

  /** Approval ids still waiting for a decision. */
  get pendingApprovals(): string[] {
    return [...this.#approvals].filter(([, el]) => !el.resolved).map(([id]) => id);
  }

  /** Replaces everything with this history (no announcements). */
  set events(list: readonly SequencedEvent[]) {
    this.clear();
    this.#live = false;
    for (const { seq, event } of list) this.appendEvent(seq, event);
    this.#live = true;
  }

  clear(): void {
    for (const url of this.#urls) URL.revokeObjectURL(url);
    this.#urls = [];
    this.#messages.clear();
    this.#commands.clear();
    this.#approvals.clear();
    this.#questions.clear();
    this.#images.clear();
    this.#plans.clear();
    this.#denied.clear();
    this.#approvalTurn.clear();
    this.#blocks.clear();
    this.#turns = 0;
    this.#lastSeq = 0;
    this.#running = false;
    this.#live = true;
    replace(this.#list, h("p", { class: "empty" }, "No events yet."));
    this.#status.textContent = "";
  }

  disconnectedCallback(): void {
    // Blob URLs live until revoked; the element going away is the end of them.
    for (const url of this.#urls) URL.revokeObjectURL(url);
    this.#urls = [];
  }

  /** Adds one event; returns false if its seq was already rendered. */
  appendEvent(seq: number, event: ThreadEvent): boolean {
    if (!Number.isSafeInteger(seq) || seq <= this.#lastSeq || !event || typeof event !== "object") return false;
    this.#lastSeq = seq;
    this.#list.querySelector(":scope > .empty")?.remove();
    const handler = this.#handlers[event.kind] as ((e: ThreadEvent) => void) | undefined;
    if (handler) handler(event);
    return true;
  }

  /** The decision could not be delivered: re-enable the card with a message. */
  approvalFailed(approvalId: string, message: string): void {
    const card = this.#approvals.get(approvalId);
    if (card) card.error = message;
  }

  questionFailed(questionId: string, message: string): void {
    const card = this.#questions.get(questionId);
    if (card) card.error = message;
  }

  #add(el: HTMLElement): void {
    this.#list.appendChild(el);
  }

  #announce(text: string): void {
    if (this.#live) this.#status.textContent = text;
  }

  #handlers: Handlers = {
    "turn.status": (e) => {
      if (e.status === "started" && e.turnId !== this.#turn) this.#turns += 1;
      this.#turn = e.turnId;
      this.#running = e.status === "started";
      if (e.status === "started") {
        this.#announce("The agent is working…");
        return;
      }
      this.#list.querySelectorAll(".msg.streaming").forEach((m) => m.classList.remove("streaming"));
      // A turn that ended early has no running step any more.
      const plan = this.#plans.get(e.turnId);
      if (plan && (e.status === "interrupted" || e.status === "failed")) {
        plan.ended = e.status;
        this.#renderPlan(e.turnId);
      }
      const text =
        e.status === "completed" ? "Turn finished" : e.status === "interrupted" ? "Turn interrupted" : `Turn failed${e.error ? `: ${str(e.error)}` : ""}`;
      this.#add(h("p", { class: `turn ${e.status}` }, text));
      this.#announce(text);
    },
    "message.user": (e) => {
      this.#add(h("div", { class: "msg user", "data-item": e.itemId }, h("span", { class: "who" }, e.device ? `You · ${str(e.device)}` : "You"), str(e.text)));
    },
    "message.delta": (e) => {
      const m = this.#message(e.itemId);
      m.source += str(e.text);
      m.el.classList.add("streaming");
      this.#renderMessage(m);
      this.#announce("The agent is responding…");
    },
    "message.completed": (e) => {
      const m = this.#message(e.itemId);
      m.source = str(e.text);
      m.el.classList.remove("streaming");
      this.#renderMessage(m, true);
    },
    "command.started": (e) => {
      const term = new AirlockTerminalElement();
      term.setAttribute("label", `Output of ${str(e.command).slice(0, 80)}`);
      term.hidden = true;
      const state = h("span", null, "Running…");
      const meta = h("span", { class: "cmd-meta" }, state, h("span", { class: "mono" }, `in ${revealInvisible(str(e.cwd))}`));
      // A collapsible terminal block: open while it runs; finished ones from history start folded.
      const el = h(
        "details",
        { class: "cmd", "data-item": e.itemId },
        h("summary", null, h("span", { class: "cmd-line" }, `$ ${revealInvisible(str(e.command))}`), meta),
        term,
      );
      el.open = true;
      this.#commands.set(e.itemId, { term, meta, state, el });
      this.#add(el);
    },
    "command.output": (e) => {
      const c = this.#commands.get(e.itemId) ?? this.#orphanCommand(e.itemId);
      c.term.hidden = false;
      c.term.write(str(e.chunk), e.stream === "stderr" ? "stderr" : "stdout");
    },
    "command.finished": (e) => {
      const c = this.#commands.get(e.itemId) ?? this.#orphanCommand(e.itemId);
      const ok = e.exitCode === 0;
      replace(
        c.state,
        h("span", { class: ok ? "exit-ok" : "exit-fail" }, e.exitCode === null ? "killed" : `exit ${e.exitCode}`),
        ` · ${formatDuration(e.durationMs)}`,
      );
      if (!this.#live && ok) c.el.open = false;
    },
    "file.change": (e) => {
      const diff = new AirlockDiffElement();
      diff.path = str(e.path);
      diff.diff = str(e.diff);
      const label = e.change === "rename" && e.oldPath ? `Renamed from ${str(e.oldPath)}` : (CHANGE_LABEL[e.change] ?? "Changed");
      this.#add(
        h(
          "section",
          { class: "file", "data-item": e.itemId, "aria-label": `File change: ${str(e.path)}` },
          h("p", { class: "change" }, revealInvisible(label)),
          diff,
        ),
      );
    },
    "plan.update": (e) => {
      const turn = this.#turn;
      const steps = Array.isArray(e.steps) ? e.steps : [];
      const plan = this.#plans.get(turn);
      if (plan) plan.steps = steps;
      else {
        const el = h("section", { class: "plan card", "aria-label": this.#turns > 1 ? `Plan, turn ${this.#turns}` : "Plan", "data-turn": turn });
        this.#plans.set(turn, { el, steps });
        this.#add(el);
      }
      this.#renderPlan(turn);
    },
    "test.result": (e) => {
      const name = h("span", null, str(e.name), h("span", { class: "sr-only" }, ` ${e.status}`));
      this.#add(
        h(
          "div",
          { class: `test ${e.status}`, "data-item": e.itemId },
          h("span", { class: "icon", "aria-hidden": "true" }, TEST_ICON[e.status] ?? "?"),
          e.summary ? h("details", null, h("summary", null, name), h("pre", null, str(e.summary))) : name,
        ),
      );
    },
    image: (e) => this.#image(e),
    usage: (e) => {
      const n = (x: number) => (Number.isFinite(x) ? x.toLocaleString("en") : "?");
      this.#add(h("p", { class: "usage" }, `Tokens: ${n(e.inputTokens)} in · ${n(e.outputTokens)} out`));
    },
    "approval.request": (e) => {
      const card = new AirlockApprovalElement();
      if (this.#live) card.since = Date.now();
      card.request = e;
      this.#approvalTurn.set(e.approvalId, this.#turn);
      card.dataset.approval = e.approvalId;
      this.#approvals.set(e.approvalId, card);
      this.#add(card);
      this.#announce(e.where === "host-only" ? "Approval needed at the host's terminal" : `Approval needed (${e.tier})`);
    },
    "approval.resolved": (e) => {
      const card = this.#approvals.get(e.approvalId);
      if (card) card.resolved = e;
      // A denied (or cancelled) write or command is not done, whatever a later plan says.
      const req = card?.request;
      const turn = this.#approvalTurn.get(e.approvalId);
      if (req && turn !== undefined && (e.decision === "deny" || e.decision === "cancel")) {
        const denied = this.#denied.get(turn) ?? new Set<string>();
        if (req.type === "file_change") {
          for (const f of parseUnifiedDiff(str(req.diff))) if (f.path && f.path !== "/dev/null") denied.add(f.path);
          for (const line of str(req.evidence?.action).split("\n")) {
            const path = line.replace(/^(add|modify|delete|rename) (.* → )?/, "").trim();
            if (path) denied.add(path);
          }
        } else if (str(req.evidence?.action).trim()) denied.add(str(req.evidence.action).trim());
        this.#denied.set(turn, denied);
        if (this.#plans.has(turn)) this.#renderPlan(turn);
      }
      this.#announce(e.decision === "deny" ? "Approval denied" : e.decision === "cancel" ? "Approval cancelled" : "Approved");
    },
    question: (e) => {
      const card = new AirlockQuestionElement();
      card.question = e;
      card.dataset.question = e.questionId;
      this.#questions.set(e.questionId, card);
      this.#add(card);
      this.#announce("The agent asks a question");
    },
    "question.answered": (e) => {
      const card = this.#questions.get(e.questionId);
      if (card) card.answered = e;
    },
    settings: (e) => {
      const parts = [e.model ? `model ${str(e.model)}` : "", e.effort ? `effort ${e.effort}` : ""].filter(Boolean);
      if (parts.length) this.#add(h("p", { class: "notice" }, `Settings: ${parts.join(", ")}`));
    },
    notice: (e) => {
      this.#add(h("p", { class: `notice ${e.level}`, "data-level": e.level }, str(e.text)));
    },
    reasoning: (e) => {
      // Folded: the summary line shows its first line; the whole summary is one tap away.
      const b = this.#block(`r:${e.itemId}`, "thinking", e.itemId, "Reasoning");
      const text = str(e.text);
      b.line.textContent =
        text
          .split("\n")
          .find((l) => l.trim())
          ?.replace(/\*\*/g, "")
          .trim()
          .slice(0, 120) || "Thinking";
      renderMarkdown(text, b.body);
      this.#announce("The agent is thinking…");
    },
    "tool.call": (e) => {
      const b = this.#block(`t:${e.itemId}`, "tool", e.itemId, "Tool call");
      const name = str(e.name);
      const input = str(e.input);
      b.line.textContent = `${toolTitle(name)}${input && name !== "image_generation" ? `: ${revealInvisible(input).slice(0, 160)}` : ""}`;
      b.el.dataset.status = e.status;
      replace(
        b.meta,
        h("span", { class: e.status === "completed" ? "done" : e.status }, TOOL_STATE[e.status] ?? str(e.status)),
        h("span", { class: "mono" }, name),
      );
      replace(
        b.body,
        input ? h("span", { class: "label" }, name === "image_generation" ? "Prompt" : "Input") : null,
        input ? h("pre", null, revealInvisible(input)) : null,
        e.output ? h("span", { class: "label" }, e.status === "running" ? "Progress" : e.status === "failed" ? "Error" : "Result") : null,
        e.output ? h("pre", null, str(e.output)) : null,
      );
      if (e.status === "running") this.#announce(`${toolTitle(name)}…`);
    },
    "turn.diff": (e) => {
      const b = this.#block(`d:${e.turnId}`, "turn-diff", e.turnId, "Changes in this turn");
      const files = parseUnifiedDiff(str(e.diff)).length;
      b.line.textContent = "Changes in this turn";
      replace(b.meta, h("span", null, `${files} ${files === 1 ? "file" : "files"}`));
      let diff = b.body.querySelector("airlock-diff") as AirlockDiffElement | null;
      if (!diff) {
        diff = new AirlockDiffElement();
        b.body.append(diff);
      }
      diff.diff = str(e.diff);
    },
  };

  /** A folded block (reasoning, tool call, turn diff) keyed by item, created on first use. */
  #block(key: string, kind: string, item: string, label: string) {
    let b = this.#blocks.get(key);
    if (!b) {
      const line = h("span", { class: "cmd-line" });
      const meta = h("span", { class: "cmd-meta" });
      const body = h("div", { class: kind === "thinking" ? "md" : "tool-body" });
      const el = h("details", { class: `cmd ${kind}`, "data-item": item, "aria-label": label }, h("summary", null, line, meta), body);
      b = { el, line, meta, body };
      this.#blocks.set(key, b);
      this.#add(el);
    }
    return b;
  }

  #message(itemId: string) {
    let m = this.#messages.get(itemId);
    if (!m) {
      const body = h("div", { class: "md" });
      const el = h("div", { class: "msg agent", "data-item": itemId }, h("span", { class: "who" }, "Agent"), body);
      m = { el, body, source: "", queued: false };
      this.#messages.set(itemId, m);
      this.#add(el);
    }
    return m;
  }

  /** Markdown, re-rendered at most once a frame while deltas stream in. */
  #renderMessage(m: { el: HTMLElement; body: HTMLElement; source: string; queued: boolean }, now = false): void {
    if (now || !this.#live || typeof requestAnimationFrame !== "function") {
      m.queued = false;
      renderMarkdown(m.source, m.body);
      return;
    }
    if (m.queued) return;
    m.queued = true;
    requestAnimationFrame(() => {
      if (!m.queued) return;
      m.queued = false;
      renderMarkdown(m.source, m.body);
    });
  }

  #renderPlan(turn: string): void {
    const plan = this.#plans.get(turn);
    if (!plan) return;
    const denied = this.#denied.get(turn);
    const state = (s: { text: string; status: string }): StepStatus => {
      const text = str(s.text);
      if (denied && [...denied].some((d) => d && text.includes(d))) return "denied";
      if (s.status === "in_progress" && plan.ended) return "stopped";
      return s.status in PLAN_ICON ? (s.status as StepStatus) : "pending";
    };
    const list = h(
      "ol",
      null,
      ...plan.steps.map((s) => {
        const st = state(s);
        return h(
          "li",
          { "data-status": st },
          h("span", { "aria-hidden": "true" }, `${PLAN_ICON[st]} `),
          str(s.text),
          h("span", { class: "sr-only" }, ` (${PLAN_SR[st]})`),
        );
      }),
    );
    const n = plan.el.getAttribute("aria-label")?.match(/turn (\d+)/)?.[1];
    const ended = plan.ended ? h("span", { class: "muted" }, plan.ended === "interrupted" ? " · interrupted" : " · failed") : null;
    replace(plan.el, h("h4", null, "Plan", n ? h("span", { class: "muted" }, ` · turn ${n}`) : null, ended), list);
  }

  /** Output for a command whose start we never saw (history trimmed): still show it. */
  #orphanCommand(itemId: string) {
    this.#handlers["command.started"]({ kind: "command.started", itemId, command: "(command)", cwd: "" });
    return this.#commands.get(itemId)!;
  }

  #image(e: EventOf<"image">): void {
    let img = this.#images.get(e.itemId);
    if (!img) {
      const el = h("figure", { "data-item": e.itemId }, h("figcaption", null, "Receiving image…"));
      img = { el, done: false };
      try {
        img.asm = new ImageAssembler(e.mime, e.chunks);
      } catch (err) {
        replace(el, h("figcaption", null, `Image not shown: ${(err as Error).message}`));
        img.done = true;
      }
      this.#images.set(e.itemId, img);
      this.#add(el);
    }
    if (img.done || !img.asm) return;
    try {
      if (e.mime !== img.asm.mime || e.chunks !== img.asm.total) throw new Error("chunks disagree on the image");
      img.asm.add(e.chunk, e.data);
      if (!img.asm.complete) return;
      const blob = new Blob([img.asm.bytes() as Uint8Array<ArrayBuffer>], { type: img.asm.mime });
      const url = URL.createObjectURL(blob);
      this.#urls.push(url);
      replace(
        img.el,
        h("img", { src: url, alt: "Image from the agent", loading: "lazy" }),
        h("figcaption", null, `Image from the agent (${img.asm.mime.slice(6).toUpperCase()})`),
      );
    } catch (err) {
      replace(img.el, h("figcaption", null, `Image not shown: ${(err as Error).message}`));
    }
    img.done = img.asm.complete;
  }
}
