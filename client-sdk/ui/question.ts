// <airlock-question>: a question from the agent, with its options as buttons
// and a free-text answer. Dispatches `answer` ({questionId, answer, optionId?}).
import { BASE_CSS } from "./theme.ts";
import { adoptStyles, h, parseJsonAttr, replace, str, uid } from "./dom.ts";
import type { AnswerDetail, EventOf, Question } from "./types.ts";

const CSS = `
.card { border-left: 6px solid var(--_tier-steer); display: grid; gap: 0.625rem; }
h3 { margin: 0; font-size: 0.8125rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--_muted); }
.text { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 1.0625rem; }
.started-by { margin: 0; font-size: var(--_text-sm); overflow-wrap: anywhere; }
.started-by b { color: var(--_muted); font-weight: 600; }
.options { display: grid; gap: 0.5rem; }
.options button { text-align: left; }
form { display: flex; gap: 0.5rem; align-items: flex-end; }
textarea { flex: 1; font: inherit; min-height: 44px; padding: 0.5rem 0.75rem; border-radius: 8px; border: 1px solid var(--_border);
  background: var(--_bg); color: var(--_fg); resize: vertical; }
.status { margin: 0; font-weight: 600; }
.status:empty { display: none; }
.status.error { color: var(--_danger); }
.answered { color: var(--_success); }
.options button.picked { border-color: var(--_success); color: var(--_fg); font-weight: 700; opacity: 1; }
.options button.picked::before { content: "✓ "; color: var(--_success); }
.picked-text { margin: 0; padding: 0.5rem 0.75rem; border-radius: 8px; background: var(--_surface); white-space: pre-wrap; overflow-wrap: anywhere; }
`;

export class AirlockQuestionElement extends HTMLElement {
  static observedAttributes = ["question", "answered"];

  #root: ShadowRoot;
  #question: Question | undefined;
  #answered: EventOf<"question.answered"> | undefined;
  #busy = false;
  #error = "";
  /** What this device sent, so the answered card can say which answer was picked. */
  #sent: { answer: string; optionId?: string } | undefined;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: "open" });
    adoptStyles(this.#root, BASE_CSS, CSS);
  }

  get question(): Question | undefined {
    return this.#question;
  }
  set question(value: Question | undefined) {
    this.#question = value;
    this.#sent = undefined;
    this.#busy = false;
    this.#render();
  }

  /** The `question.answered` event, once there is one. */
  get answered(): EventOf<"question.answered"> | undefined {
    return this.#answered;
  }
  set answered(value: EventOf<"question.answered"> | undefined) {
    this.#answered = value;
    this.#busy = false;
    this.#render();
  }

  set error(message: string) {
    this.#error = message;
    this.#busy = false;
    this.#render();
  }
  get error(): string {
    return this.#error;
  }

  attributeChangedCallback(name: string, _old: string | null, value: string | null): void {
    if (name === "question") this.question = parseJsonAttr<Question>(value);
    else this.answered = parseJsonAttr<EventOf<"question.answered">>(value);
  }

  #send(answer: string, optionId?: string): void {
    const q = this.#question;
    if (!q || this.#busy || this.#answered || answer.trim() === "") return;
    this.#busy = true;
    this.#error = "";
    const detail: AnswerDetail = optionId === undefined ? { questionId: q.questionId, answer } : { questionId: q.questionId, answer, optionId };
    this.#sent = optionId === undefined ? { answer } : { answer, optionId };
    this.#render();
    this.dispatchEvent(new CustomEvent("answer", { detail, bubbles: true, composed: true }));
  }

  #render(): void {
    const q = this.#question;
    if (!q) {
      replace(this.#root);
      return;
    }
    const textId = uid("question-text");
    const inputId = uid("question-input");
    const done = this.#answered !== undefined;
    const disabled = done || this.#busy;
    const options = (q.options ?? []).map((o) => {
      const picked = done && this.#sent?.optionId === str(o.id);
      const b = h(
        "button",
        { type: "button", "data-option": str(o.id), class: picked ? "picked" : null },
        str(o.label),
        picked ? h("span", { class: "sr-only" }, " (picked)") : null,
      );
      b.disabled = disabled;
      b.addEventListener("click", () => this.#send(str(o.label), str(o.id)));
      return b;
    });
    let form: HTMLElement | null = null;
    if (!done) {
      const input = h("textarea", { id: inputId, rows: 1, placeholder: "Type an answer" });
      input.disabled = disabled;
      const submit = h("button", { type: "submit", class: "primary" }, "Send");
      submit.disabled = disabled;
      form = h("form", null, h("label", { for: inputId, class: "sr-only" }, "Your answer"), input, submit);
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        this.#send(input.value);
      });
    }
    const sent = this.#sent;
    const pickedLabel = sent
      ? ((sent.optionId !== undefined ? (q.options ?? []).find((o) => str(o.id) === sent.optionId)?.label : undefined) ?? sent.answer)
      : undefined;
    const status = done
      ? h("p", { class: "status answered" }, `Answered by ${str(this.#answered!.by)}`, pickedLabel !== undefined ? `: “${str(pickedLabel)}”` : "")
      : h(
          "p",
          { class: this.#error ? "status error" : "status", role: "status" },
          this.#error ? `Could not send: ${this.#error}` : this.#busy ? "Sending…" : "",
        );
    replace(
      this.#root,
      h(
        "article",
        { class: "card", "aria-labelledby": textId, "data-state": done ? "answered" : "open" },
        h("h3", null, "Question from the agent"),
        // A thread an automation token started: the person answering sees which one and whose.
        q.startedBy ? h("p", { class: "started-by" }, h("b", null, "Started by "), str(q.startedBy), " (an automation token; it cannot answer this)") : null,
        h("p", { class: "text", id: textId }, str(q.text)),
        options.length ? h("div", { class: "options", role: "group", "aria-label": "Options" }, ...options) : null,
        form,
        done && sent && sent.optionId === undefined ? h("p", { class: "picked-text" }, sent.answer) : null,
        status,
      ),
    );
  }
}
