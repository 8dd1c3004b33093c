// Markdown for agent messages, rendered safely. marked (pinned in
// client-sdk/package.json; only the UI imports it, never the SDK core) turns
// the text into tokens; we build the DOM from those tokens ourselves with
// createElement and Text nodes, so nothing from the host is ever parsed as
// HTML: raw HTML in the message shows as the text it is, links are shown with
// their URL and are not clickable (a phone should not follow what an agent
// wrote without the reader seeing where it goes), images are not loaded.
import { Lexer, type Token, type Tokens } from "marked";
import { h, revealInvisible } from "./dom.ts";

export const MARKDOWN_CSS = `
.md > :first-child { margin-top: 0; } .md > :last-child { margin-bottom: 0; }
.md p, .md ul, .md ol, .md blockquote, .md pre, .md table { margin: 0 0 0.5rem; }
.md h1, .md h2, .md h3, .md h4, .md h5, .md h6 { margin: 0.75rem 0 0.375rem; font-size: 1rem; line-height: 1.3; }
.md h1 { font-size: 1.1875rem; } .md h2 { font-size: 1.0625rem; }
.md ul, .md ol { padding-left: 1.25rem; }
.md li + li { margin-top: 0.125rem; }
.md li.task { list-style: none; margin-left: -1.25rem; }
.md blockquote { border-left: 3px solid var(--_border); padding-left: 0.75rem; color: var(--_muted); }
.md pre { padding: 0.5rem 0.75rem; background: var(--_code-bg); border-radius: 8px; overflow-x: auto; white-space: pre; }
.md :not(pre) > code { padding: 0.0625rem 0.3125rem; background: var(--_code-bg); border-radius: 4px; overflow-wrap: anywhere; }
.md .link { color: var(--_accent); text-decoration: underline; text-underline-offset: 2px; }
.md .url { font-family: var(--_mono-font); font-size: 0.8125rem; color: var(--_muted); overflow-wrap: anywhere; }
.md .raw { font-family: var(--_mono-font); font-size: 0.875rem; color: var(--_muted); }
.md table { border-collapse: collapse; display: block; overflow-x: auto; font-size: 0.875rem; }
.md th, .md td { border: 1px solid var(--_border); padding: 0.25rem 0.5rem; text-align: left; }
.md hr { border: none; border-top: 1px solid var(--_border); margin: 0.75rem 0; }
`;

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0", "#39": "'" };

/** Decodes the few character references marked leaves in text tokens; never produces markup (the result becomes a Text node). */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8}|#39);/gi, (whole, ref: string) => {
    if (ref[0] === "#" && ref !== "#39") {
      const cp = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : "\ufffd";
    }
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

const text = (s: string) => document.createTextNode(revealInvisible(decodeEntities(s)));

function inline(tokens: Token[] | undefined, out: Node): void {
  for (const t of tokens ?? []) out.appendChild(inlineToken(t));
}

function inlineToken(t: Token): Node {
  switch (t.type) {
    case "text": {
      const tt = t as Tokens.Text;
      if (tt.tokens?.length) {
        const f = document.createDocumentFragment();
        inline(tt.tokens, f);
        return f;
      }
      return text(tt.text);
    }
    case "escape":
      return text((t as Tokens.Escape).text);
    case "strong":
    case "em":
    case "del": {
      const el = h(t.type === "strong" ? "strong" : t.type === "em" ? "em" : "del");
      inline((t as Tokens.Strong).tokens, el);
      return el;
    }
    case "codespan":
      return h("code", null, revealInvisible(decodeEntities((t as Tokens.Codespan).text)));
    case "br":
      return h("br");
    case "link": {
      const l = t as Tokens.Link;
      const label = h("span", { class: "link" });
      inline(l.tokens, label);
      // The URL is always visible; an autolink's text already is the URL.
      const shown = l.text === l.href ? null : h("span", { class: "url" }, ` (${revealInvisible(l.href)})`);
      return h("span", { class: "md-link", "data-href": l.href }, label, shown);
    }
    case "image": {
      const i = t as Tokens.Image;
      return h("span", { class: "url" }, `[image${i.text ? `: ${revealInvisible(decodeEntities(i.text))}` : ""}] (${revealInvisible(i.href)})`);
    }
    case "html":
    case "tag":
      return h("span", { class: "raw" }, revealInvisible((t as Tokens.HTML).text));
    case "checkbox":
      return document.createTextNode((t as Tokens.Checkbox).checked ? "☑ " : "☐ ");
    default:
      return text("raw" in t && typeof t.raw === "string" ? t.raw : "");
  }
}

function block(tokens: Token[], out: Node): void {
  for (const t of tokens) {
    const el = blockToken(t);
    if (el) out.appendChild(el);
  }
}

function blockToken(t: Token): Node | null {
  switch (t.type) {
    case "space":
    case "def":
      return null;
    case "paragraph": {
      const p = h("p");
      inline((t as Tokens.Paragraph).tokens, p);
      return p;
    }
    case "heading": {
      const hd = t as Tokens.Heading;
      // Agent headings sit inside a message: never above the page's own h1/h2 in weight.
      const el = h((["h3", "h4", "h5", "h6", "h6", "h6"] as const)[Math.min(5, Math.max(0, hd.depth - 1))]!);
      inline(hd.tokens, el);
      return el;
    }
    case "code":
      return h("pre", null, h("code", null, revealInvisible((t as Tokens.Code).text)));
    case "blockquote": {
      const q = h("blockquote");
      block((t as Tokens.Blockquote).tokens, q);
      return q;
    }
    case "list": {
      const l = t as Tokens.List;
      const list = l.ordered ? h("ol", typeof l.start === "number" && l.start !== 1 ? { start: l.start } : null) : h("ul");
      for (const item of l.items) {
        const li = h("li", item.task ? { class: "task" } : null);
        // Tight lists hold text tokens with inline children; loose ones hold paragraphs.
        for (const c of item.tokens) {
          if (c.type === "text" || c.type === "checkbox") li.appendChild(inlineToken(c));
          else {
            const el = blockToken(c);
            if (el) li.appendChild(el);
          }
        }
        list.appendChild(li);
      }
      return list;
    }
    case "table": {
      const tb = t as Tokens.Table;
      const cell = (tag: "th" | "td", c: Tokens.TableCell) => {
        const el = h(tag);
        inline(c.tokens, el);
        return el;
      };
      return h(
        "table",
        null,
        h("thead", null, h("tr", null, ...tb.header.map((c) => cell("th", c)))),
        h("tbody", null, ...tb.rows.map((r) => h("tr", null, ...r.map((c) => cell("td", c))))),
      );
    }
    case "hr":
      return h("hr");
    case "html":
      return h("p", { class: "raw" }, revealInvisible((t as Tokens.HTML).text));
    case "text": {
      const p = h("p");
      p.appendChild(inlineToken(t));
      return p;
    }
    default:
      return "raw" in t && typeof t.raw === "string" ? h("p", null, revealInvisible(t.raw)) : null;
  }
}

/** Renders markdown into `target` (its children are replaced). Never throws: on a parser error the text shows as plain text. */
export function renderMarkdown(source: string, target: HTMLElement): void {
  const frag = document.createDocumentFragment();
  try {
    block(Lexer.lex(source, { gfm: true, breaks: true }), frag);
  } catch {
    frag.appendChild(h("p", null, revealInvisible(source)));
  }
  target.replaceChildren(frag);
}
