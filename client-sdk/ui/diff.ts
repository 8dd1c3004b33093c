// <airlock-diff>: a unified diff, one collapsible section per file, with line
// numbers and light syntax highlighting. Set `diff` (text) and optionally
// `path` (used when the diff has no file headers, as in `file.change`).
import { BASE_CSS } from "./theme.ts";
import { adoptStyles, h, replace, revealInvisible } from "./dom.ts";
import { parseUnifiedDiff, type DiffFile } from "./diff-parse.ts";
import { highlightLine, languageFor, type HighlightState } from "./highlight.ts";

// Big diffs render in slices so a phone stays responsive.
const LINES_PER_SLICE = 400;
// Files larger than this start collapsed.
const AUTO_COLLAPSE_LINES = 300;

const CSS = `
:host { font-size: 0.875rem; }
details { border: 1px solid var(--_border); border-radius: var(--_radius); overflow: hidden; background: var(--_bg); }
details + details { margin-top: 0.5rem; }
summary { min-height: 44px; display: flex; align-items: center; gap: 0.5rem; padding: 0.375rem 0.75rem; cursor: pointer;
  background: var(--_surface); font-family: var(--_mono-font); font-size: 0.8125rem; overflow-wrap: anywhere; }
summary .path { flex: 1; min-width: 0; }
.stat-add { color: var(--_success); font-weight: 700; } .stat-del { color: var(--_danger); font-weight: 700; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
.code { display: inline-block; min-width: 100%; font-family: var(--_mono-font); line-height: 1.5; }
.line { display: flex; white-space: pre; }
.no { position: sticky; flex: none; width: var(--no-w, 3ch); padding: 0 0.375rem; text-align: right; color: var(--_muted);
  background: var(--_code-bg); user-select: none; box-sizing: content-box; }
.no.old { left: 0; } .no.new { left: calc(var(--no-w, 3ch) + 0.75rem); }
.sign { flex: none; width: 1.5ch; padding-left: 0.25rem; user-select: none; }
.src { padding-right: 1rem; }
.add { background: var(--_diff-add-bg); } .add .no { background: var(--_diff-add-bg); }
.del { background: var(--_diff-del-bg); } .del .no { background: var(--_diff-del-bg); }
.hunk { background: var(--_diff-hunk-bg); color: var(--_muted); padding: 0.25rem 0.75rem; white-space: pre; }
.note, .meta { color: var(--_muted); font-style: italic; padding: 0 0.75rem; white-space: pre-wrap; }
.more { margin: 0.5rem 0.75rem; }
.t-keyword { color: var(--_syntax-keyword); font-weight: 600; } .t-string { color: var(--_syntax-string); }
.t-comment { color: var(--_syntax-comment); font-style: italic; } .t-number { color: var(--_syntax-number); }
.empty { padding: 0.75rem; color: var(--_muted); }
`;

const CHANGE_SR = { add: "added: ", del: "removed: ", ctx: "", note: "" } as const;

export class AirlockDiffElement extends HTMLElement {
  static observedAttributes = ["diff", "path", "preview-lines"];

  #root: ShadowRoot;
  #diff = "";
  #path = "";
  #files: DiffFile[] = [];
  #preview = 0;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: "open" });
    adoptStyles(this.#root, BASE_CSS, CSS);
  }

  get diff(): string {
    return this.#diff;
  }
  set diff(value: string) {
    this.#diff = typeof value === "string" ? value : "";
    this.#render();
  }

  get path(): string {
    return this.#path;
  }
  set path(value: string) {
    this.#path = typeof value === "string" ? value : "";
    this.#render();
  }

  /**
   * Shows at most this many lines of each file at first, then a "Show all"
   * button (0: no limit). An approval uses it so the decision stays in view.
   */
  get previewLines(): number {
    return this.#preview;
  }
  set previewLines(value: number) {
    this.#preview = Number.isSafeInteger(value) && value > 0 ? value : 0;
    this.#render();
  }

  /** Parsed files, for integrators that want counts. */
  get files(): readonly DiffFile[] {
    return this.#files;
  }

  attributeChangedCallback(name: string, _old: string | null, value: string | null): void {
    if (name === "diff") this.diff = value ?? "";
    else if (name === "preview-lines") this.previewLines = Number(value);
    else this.path = value ?? "";
  }

  #render(): void {
    this.#files = parseUnifiedDiff(this.#diff, this.#path);
    if (this.#files.length === 0) {
      replace(this.#root, h("p", { class: "empty" }, "No changes."));
      return;
    }
    replace(this.#root, ...this.#files.map((f, i) => this.#renderFile(f, i)));
  }

  #renderFile(file: DiffFile, index: number): HTMLElement {
    const total = file.hunks.reduce((n, hk) => n + hk.lines.length, 0);
    const maxNo = Math.max(1, ...file.hunks.flatMap((hk) => hk.lines.map((l) => Math.max(l.oldNo ?? 0, l.newNo ?? 0))));
    const code = h("div", { class: "code" });
    code.style.setProperty("--no-w", `${String(maxNo).length}ch`);
    const name = file.oldPath && file.oldPath !== file.path ? `${file.oldPath} → ${file.path}` : file.path || "(unnamed file)";
    const details = h(
      "details",
      { "data-path": file.path },
      h(
        "summary",
        null,
        h("span", { class: "path" }, revealInvisible(name)),
        h("span", { class: "stat-add", "aria-label": `${file.added} added` }, `+${file.added}`),
        h("span", { class: "stat-del", "aria-label": `${file.removed} removed` }, `−${file.removed}`),
      ),
      ...file.meta.map((m) => h("div", { class: "meta" }, revealInvisible(m))),
      h("div", { class: "scroll" }, code),
    );
    // With a preview the first file opens (their first lines are short); later ones wait for a tap.
    details.open = this.#preview > 0 ? index === 0 : total <= AUTO_COLLAPSE_LINES;

    // Rows are produced lazily so a huge file costs nothing until opened / expanded.
    const lang = languageFor(file.path);
    const rows = this.#rows(file, lang);
    let more: HTMLButtonElement | undefined;
    const preview = this.#preview;
    const renderSlice = () => {
      let n = 0;
      const first = code.childElementCount === 0 && preview > 0;
      const limit = first ? preview : LINES_PER_SLICE;
      for (let r = rows.next(); !r.done; r = rows.next()) {
        code.appendChild(r.value);
        if (++n >= limit) break;
      }
      const shown = code.childElementCount;
      more?.remove();
      if (shown < total + file.hunks.length) {
        const left = total + file.hunks.length - shown;
        more = h(
          "button",
          { type: "button", class: "more" },
          first ? `Show all (${left} more line${left === 1 ? "" : "s"})` : `Show more lines (${left} left)`,
        );
        more.addEventListener("click", renderSlice);
        details.appendChild(more);
      }
    };
    let started = false;
    const start = () => {
      if (started || !details.open) return;
      started = true;
      renderSlice();
    };
    details.addEventListener("toggle", start);
    start();
    return details;
  }

  *#rows(file: DiffFile, lang: string | undefined): Generator<HTMLElement> {
    for (const hunk of file.hunks) {
      yield h("div", { class: "hunk" }, revealInvisible(hunk.header));
      // Old and new sides keep their own comment state, like the files they come from.
      const oldState: HighlightState = { inBlock: false };
      const newState: HighlightState = { inBlock: false };
      for (const line of hunk.lines) {
        if (line.type === "note") {
          yield h("div", { class: "note" }, line.text);
          continue;
        }
        const state = line.type === "del" ? oldState : newState;
        if (line.type === "ctx") oldState.inBlock = newState.inBlock;
        const src = h("span", { class: "src" });
        src.appendChild(h("span", { class: "sr-only" }, CHANGE_SR[line.type]));
        for (const t of highlightLine(revealInvisible(line.text), lang, state)) {
          src.appendChild(t.type === "plain" ? document.createTextNode(t.text) : h("span", { class: `t-${t.type}` }, t.text));
        }
        yield h(
          "div",
          { class: `line ${line.type}` },
          h("span", { class: "no old", "aria-hidden": "true" }, line.oldNo ?? ""),
          h("span", { class: "no new", "aria-hidden": "true" }, line.newNo ?? ""),
          h("span", { class: "sign", "aria-hidden": "true" }, line.type === "add" ? "+" : line.type === "del" ? "-" : " "),
          src,
        );
      }
    }
  }
}
