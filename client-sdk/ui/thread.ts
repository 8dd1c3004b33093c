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
import type { EventOf, SequencedEvent, ThreadEvent } from "./types.ts";

const CSS = `
.list { display: flex; flex-direction: column; gap: 0.75rem; }
.msg { max-width: 92%; padding: 0.625rem 0.875rem; border-radius: var(--_radius); white-space: pre-wrap; overflow-wrap: anywhere; }
.msg.user { align-self: flex-end; background: var(--_accent); color: var(--_accent-fg); border-bottom-right-radius: 4px; }
.msg.agent { align-self: flex-start; background: var(--_surface); border-bottom-left-radius: 4px; }
.msg.streaming::after { content: "▍"; animation: blink 1s steps(2) infinite; }
@keyframes blink { 50% { opacity: 0; } }
.who { display: block; font-size: 0.75rem; opacity: 0.8; margin-bottom: 0.125rem; }
.cmd { display: grid; gap: 0.375rem; }
.cmd-line { margin: 0; padding: 0.5rem 0.75rem; background: var(--_code-bg); border-radius: 8px; white-space: pre-wrap; overflow-wrap: anywhere; }
.cmd-meta { font-size: 0.8125rem; color: var(--_muted); display: flex; flex-wrap: wrap; gap: 0.5rem; overflow-wrap: anywhere; }
.exit-ok { color: var(--_success); font-weight: 700; } .exit-fail { color: var(--_danger); font-weight: 700; }
.change { font-size: 0.8125rem; color: var(--_muted); margin: 0 0 0.25rem; }
.plan h4, .tests h4 { margin: 0 0 0.375rem; font-size: 0.875rem; }
.plan ol { margin: 0; padding-left: 1.5rem; }
.plan li[data-status="completed"] { color: var(--_muted); text-decoration: line-through; }
.plan li[data-status="in_progress"] { font-weight: 700; }
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
`;

type Kind = ThreadEvent["kind"];
type Handlers = { [K in Kind]: (e: EventOf<K>) => void };

const PLAN_ICON = { pending: "○", in_progress: "▶", completed: "✓" } as const;
const PLAN_SR = { pending: "to do", in_progress: "in progress", completed: "done" } as const;
const TEST_ICON = { passed: "✓", failed: "✗", skipped: "–" } as const;
const CHANGE_LABEL = { add: "Added", modify: "Modified", delete: "Deleted", rename: "Renamed" } as const;

export class AirlockThreadElement extends HTMLElement {
  #root: ShadowRoot;
  #list: HTMLElement;
  #status: HTMLElement;
  #lastSeq = 0;
  #live = false;
  #running = false;
  #messages = new Map<string, { el: HTMLElement; text: Text }>();
  #commands = new Map<string, { term: AirlockTerminalElement; meta: HTMLElement; state: HTMLElement }>();
  #approvals = new Map<string, AirlockApprovalElement>();
  #questions = new Map<string, AirlockQuestionElement>();
  #images = new Map<string, { asm?: ImageAssembler; el: HTMLElement; done: boolean }>();
  #urls: string[] = [];
  #plan: { el: HTMLElement; turn: string } | undefined;
  #turn = "";

  constructor() {
    super();
    defineOnce("airlock-approval", AirlockApprovalElement);
    defineOnce("airlock-question", AirlockQuestionElement);
    defineOnce("airlock-diff", AirlockDiffElement);
    defineOnce("airlock-terminal", AirlockTerminalElement);
    this.#root = this.attachShadow({ mode: "open" });
    adoptStyles(this.#root, BASE_CSS, CSS);
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
    this.#plan = undefined;
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
      this.#turn = e.turnId;
      this.#running = e.status === "started";
      if (e.status === "started") {
        this.#announce("The agent is working…");
        return;
      }
      this.#list.querySelectorAll(".msg.streaming").forEach((m) => m.classList.remove("streaming"));
      const text = e.status === "completed" ? "Turn finished" : e.status === "interrupted" ? "Turn interrupted" : `Turn failed${e.error ? `: ${str(e.error)}` : ""}`;
      this.#add(h("p", { class: `turn ${e.status}` }, text));
      this.#announce(text);
    },
    "message.user": (e) => {
      this.#add(h("div", { class: "msg user", "data-item": e.itemId }, h("span", { class: "who" }, e.device ? `You · ${str(e.device)}` : "You"), str(e.text)));
    },
    "message.delta": (e) => {
      const m = this.#message(e.itemId);
      m.text.appendData(str(e.text));
      m.el.classList.add("streaming");
      this.#announce("The agent is responding…");
    },
    "message.completed": (e) => {
      const m = this.#message(e.itemId);
      m.text.data = str(e.text);
      m.el.classList.remove("streaming");
    },
    "command.started": (e) => {
      const term = new AirlockTerminalElement();
      term.setAttribute("label", `Output of ${str(e.command).slice(0, 80)}`);
      term.hidden = true;
      const state = h("span", null, "Running…");
      const meta = h("div", { class: "cmd-meta" }, h("span", { class: "mono" }, `in ${revealInvisible(str(e.cwd))}`), state);
      const el = h("section", { class: "cmd", "data-item": e.itemId, "aria-label": "Command" }, h("pre", { class: "cmd-line" }, h("code", null, `$ ${revealInvisible(str(e.command))}`)), meta, term);
      this.#commands.set(e.itemId, { term, meta, state });
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
    },
    "file.change": (e) => {
      const diff = new AirlockDiffElement();
      diff.path = str(e.path);
      diff.diff = str(e.diff);
      const label = e.change === "rename" && e.oldPath ? `Renamed from ${str(e.oldPath)}` : CHANGE_LABEL[e.change] ?? "Changed";
      this.#add(h("section", { class: "file", "data-item": e.itemId, "aria-label": `File change: ${str(e.path)}` }, h("p", { class: "change" }, revealInvisible(label)), diff));
    },
    "plan.update": (e) => {
      const list = h(
        "ol",
        null,
        ...(e.steps ?? []).map((s) =>
          h("li", { "data-status": s.status }, h("span", { "aria-hidden": "true" }, `${PLAN_ICON[s.status] ?? "○"} `), str(s.text), h("span", { class: "sr-only" }, ` (${PLAN_SR[s.status] ?? ""})`)),
        ),
      );
      // One plan per turn, updated in place.
      if (this.#plan && this.#plan.turn === this.#turn) {
        replace(this.#plan.el, h("h4", null, "Plan"), list);
      } else {
        const el = h("section", { class: "plan card", "aria-label": "Plan" }, h("h4", null, "Plan"), list);
        this.#plan = { el, turn: this.#turn };
        this.#add(el);
      }
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
      card.request = e;
      card.dataset.approval = e.approvalId;
      this.#approvals.set(e.approvalId, card);
      this.#add(card);
      this.#announce(e.where === "host-only" ? "Approval needed at the host's terminal" : `Approval needed (${e.tier})`);
    },
    "approval.resolved": (e) => {
      const card = this.#approvals.get(e.approvalId);
      if (card) card.resolved = e;
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
  };

  #message(itemId: string): { el: HTMLElement; text: Text } {
    let m = this.#messages.get(itemId);
    if (!m) {
      const text = document.createTextNode("");
      const el = h("div", { class: "msg agent", "data-item": itemId }, h("span", { class: "who" }, "Agent"), text);
      m = { el, text };
      this.#messages.set(itemId, m);
      this.#add(el);
    }
    return m;
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
      replace(img.el, h("img", { src: url, alt: "Image from the agent", loading: "lazy" }), h("figcaption", null, `Image from the agent (${img.asm.mime.slice(6).toUpperCase()})`));
    } catch (err) {
      replace(img.el, h("figcaption", null, `Image not shown: ${(err as Error).message}`));
    }
    img.done = img.asm.complete;
  }
}
