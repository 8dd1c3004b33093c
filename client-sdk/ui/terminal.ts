// <airlock-terminal>: command output with ANSI colours. `write(chunk, stream)`
// appends; the view follows new output unless the user scrolled up, and then
// offers a button back to the end. Text only ever becomes Text nodes; colours
// come from validated numbers (ansi.ts).
import { BASE_CSS } from "./theme.ts";
import { AnsiParser, cssColor, styleKey, type AnsiStyle } from "./ansi.ts";
import { adoptStyles, h, revealInvisible } from "./dom.ts";

const CSS = `
:host { position: relative; }
.screen { margin: 0; background: var(--_terminal-bg); color: var(--_terminal-fg); border-radius: 8px; padding: 0.5rem 0.75rem;
  max-height: var(--_terminal-max-height); overflow: auto; font-family: var(--_mono-font); font-size: 0.8125rem; line-height: 1.4;
  white-space: pre-wrap; overflow-wrap: anywhere; -webkit-overflow-scrolling: touch; }
.ln { min-height: 1.4em; }
.ln:last-child:empty { display: none; }
.stderr { color: var(--_terminal-stderr); }
.b { font-weight: 700; } .d { opacity: 0.7; } .i { font-style: italic; } .u { text-decoration: underline; }
.s { text-decoration: line-through; } .u.s { text-decoration: underline line-through; } .hid { visibility: hidden; }
.jump { position: absolute; right: 0.75rem; bottom: 0.5rem; background: var(--_accent); color: var(--_accent-fg); border: none;
  border-radius: 999px; font-size: 0.875rem; box-shadow: 0 2px 6px rgb(0 0 0 / 0.3); }
.empty { color: var(--_muted); font-style: italic; }
`;

export class AirlockTerminalElement extends HTMLElement {
  static observedAttributes = ["label", "max-lines"];

  #root: ShadowRoot;
  #screen: HTMLElement;
  #jump: HTMLButtonElement;
  #parsers = { stdout: new AnsiParser(), stderr: new AnsiParser() };
  #line!: HTMLElement;
  #last: { span: HTMLElement; text: Text; key: string } | undefined;
  /** A carriage return was seen: the next text replaces the current line. */
  #overwrite = false;
  #following = true;
  #lines = 0;
  #scrollQueued = false;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: "open" });
    adoptStyles(this.#root, BASE_CSS, CSS);
    this.#screen = h("div", { class: "screen", role: "log", "aria-live": "off", tabindex: 0, "aria-label": "Command output" });
    this.#jump = h("button", { type: "button", class: "jump", hidden: true }, "↓ Latest output");
    this.#jump.addEventListener("click", () => {
      this.#following = true;
      this.#scrollToEnd();
    });
    this.#screen.addEventListener(
      "scroll",
      () => {
        const s = this.#screen;
        this.#following = s.scrollTop + s.clientHeight >= s.scrollHeight - 8;
        this.#jump.hidden = this.#following;
      },
      { passive: true },
    );
    this.#root.append(this.#screen, this.#jump);
    this.clear();
  }

  get maxLines(): number {
    const n = Number(this.getAttribute("max-lines"));
    return Number.isInteger(n) && n > 0 ? n : 5000;
  }

  /** Whether the view sticks to the newest output. */
  get following(): boolean {
    return this.#following;
  }

  attributeChangedCallback(name: string, _old: string | null, value: string | null): void {
    if (name === "label") this.#screen.setAttribute("aria-label", value || "Command output");
  }

  clear(): void {
    this.#screen.replaceChildren();
    this.#parsers = { stdout: new AnsiParser(), stderr: new AnsiParser() };
    this.#lines = 0;
    this.#newLine();
    this.#overwrite = false;
  }

  /** The visible text, without escape sequences. */
  get text(): string {
    return Array.from(this.#screen.children, (l) => l.textContent ?? "").join("\n");
  }

  write(chunk: string, stream: "stdout" | "stderr" = "stdout"): void {
    if (typeof chunk !== "string" || chunk === "") return;
    for (const token of this.#parsers[stream].feed(chunk)) {
      if (token.type === "newline") {
        this.#overwrite = false;
        this.#newLine();
      } else if (token.type === "cr") {
        this.#overwrite = true;
      } else {
        if (this.#overwrite) {
          this.#line.replaceChildren();
          this.#last = undefined;
          this.#overwrite = false;
        }
        this.#appendText(revealInvisible(token.text), token.style, stream);
      }
    }
    if (this.#following) this.#scheduleScroll();
  }

  #newLine(): void {
    this.#line = h("div", { class: "ln" });
    this.#screen.appendChild(this.#line);
    this.#last = undefined;
    if (++this.#lines > this.maxLines) {
      this.#screen.firstElementChild?.remove();
      this.#lines--;
    }
  }

  #appendText(text: string, style: AnsiStyle, stream: "stdout" | "stderr"): void {
    const key = `${stream}|${styleKey(style)}`;
    if (this.#last && this.#last.key === key) {
      this.#last.text.appendData(text);
      return;
    }
    const span = document.createElement("span");
    const node = document.createTextNode(text);
    span.appendChild(node);
    applyStyle(span, style, stream);
    this.#line.appendChild(span);
    this.#last = { span, text: node, key };
  }

  #scheduleScroll(): void {
    if (this.#scrollQueued) return;
    this.#scrollQueued = true;
    requestAnimationFrame(() => {
      this.#scrollQueued = false;
      if (this.#following) this.#scrollToEnd();
    });
  }

  #scrollToEnd(): void {
    this.#screen.scrollTop = this.#screen.scrollHeight;
    this.#jump.hidden = true;
  }
}

function applyStyle(span: HTMLElement, style: AnsiStyle, stream: "stdout" | "stderr"): void {
  if (stream === "stderr") span.classList.add("stderr");
  if (style.bold) span.classList.add("b");
  if (style.dim) span.classList.add("d");
  if (style.italic) span.classList.add("i");
  if (style.underline) span.classList.add("u");
  if (style.strike) span.classList.add("s");
  if (style.hidden) span.classList.add("hid");
  let fg = style.fg ? cssColor(style.fg) : undefined;
  let bg = style.bg ? cssColor(style.bg) : undefined;
  if (style.inverse) [fg, bg] = [bg ?? "var(--_terminal-bg)", fg ?? "var(--_terminal-fg)"];
  // CSSOM setters with values we built from integers: nothing from the input.
  if (fg) span.style.setProperty("color", fg);
  if (bg) span.style.setProperty("background-color", bg);
}
