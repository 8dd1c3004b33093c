// A small syntax tokenizer for diffs: keywords, strings, comments and numbers
// for common languages, one line at a time with block-comment state carried
// between lines. It only classifies text; the renderer builds the spans.

export type TokenType = "plain" | "keyword" | "string" | "comment" | "number";
export interface Token {
  type: TokenType;
  text: string;
}

interface Lang {
  keywords: Set<string>;
  line?: string[];
  block?: [string, string];
  quotes: string;
}

const words = (s: string) => new Set(s.split(/\s+/).filter(Boolean));

const JS = words(`break case catch class const continue debugger default delete do else export extends finally for function
  if import in instanceof let new return super switch this throw try typeof var void while with yield async await of static get set
  true false null undefined interface type enum implements private protected public readonly abstract declare namespace as from
  satisfies keyof infer never unknown any`);
const C = words(`auto break case char const continue default do double else enum extern float for goto if int long register return short
  signed sizeof static struct switch typedef union unsigned void volatile while class namespace template typename public private
  protected virtual override new delete this true false nullptr bool package import final abstract extends implements interface
  throws throw try catch finally boolean byte string using var null`);
const GO = words(`break case chan const continue default defer else fallthrough for func go goto if import interface map package range
  return select struct switch type var true false nil`);
const RUST = words(`as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod move mut pub
  ref return self Self static struct super trait true type unsafe use where while`);
const PY = words(`and as assert async await break class continue def del elif else except False finally for from global if import in is
  lambda None nonlocal not or pass raise return True try while with yield self`);
const RUBY = words(`alias and begin break case class def defined? do else elsif end ensure false for if in module next nil not or redo
  rescue retry return self super then true undef unless until when while yield require`);
const SH = words(`if then else elif fi for while until do done case esac function in return local export readonly set unset exit echo`);
const JSON_WORDS = words("true false null");

const LANGS: Record<string, Lang> = {
  js: { keywords: JS, line: ["//"], block: ["/*", "*/"], quotes: "'\"`" },
  c: { keywords: C, line: ["//"], block: ["/*", "*/"], quotes: "'\"" },
  go: { keywords: GO, line: ["//"], block: ["/*", "*/"], quotes: "'\"`" },
  rust: { keywords: RUST, line: ["//"], block: ["/*", "*/"], quotes: '"' },
  py: { keywords: PY, line: ["#"], quotes: "'\"" },
  ruby: { keywords: RUBY, line: ["#"], quotes: "'\"" },
  sh: { keywords: SH, line: ["#"], quotes: "'\"" },
  json: { keywords: JSON_WORDS, quotes: '"' },
  css: { keywords: words("important"), block: ["/*", "*/"], quotes: "'\"" },
  conf: { keywords: JSON_WORDS, line: ["#"], quotes: "'\"" },
};

const BY_EXT: Record<string, string> = {
  js: "js",
  mjs: "js",
  cjs: "js",
  jsx: "js",
  ts: "js",
  tsx: "js",
  mts: "js",
  cts: "js",
  c: "c",
  h: "c",
  cc: "c",
  cpp: "c",
  hpp: "c",
  cs: "c",
  java: "c",
  kt: "c",
  swift: "c",
  scala: "c",
  dart: "c",
  go: "go",
  rs: "rust",
  py: "py",
  rb: "ruby",
  sh: "sh",
  bash: "sh",
  zsh: "sh",
  json: "json",
  css: "css",
  scss: "css",
  yaml: "conf",
  yml: "conf",
  toml: "conf",
  ini: "conf",
};

/** The language id for a path, or undefined when we don't highlight it. */
export function languageFor(path: string): string | undefined {
  const name = path.split("/").pop() ?? "";
  if (name === "Dockerfile" || name === "Makefile") return "sh";
  const ext = name.includes(".") ? name.split(".").pop()!.toLowerCase() : "";
  return BY_EXT[ext];
}

export interface HighlightState {
  inBlock: boolean;
}

// Very long lines (minified files) are shown plain: highlighting them costs more than it helps.
const MAX_LINE = 2000;

/** Tokenizes one line. `state` carries an open block comment to the next line. */
export function highlightLine(line: string, lang: string | undefined, state: HighlightState = { inBlock: false }): Token[] {
  const spec = lang ? LANGS[lang] : undefined;
  if (!spec || line.length > MAX_LINE) return [{ type: "plain", text: line }];
  const out: Token[] = [];
  const push = (type: TokenType, text: string) => {
    if (text === "") return;
    const last = out[out.length - 1];
    if (last && last.type === type) last.text += text;
    else out.push({ type, text });
  };
  let i = 0;
  while (i < line.length) {
    if (state.inBlock && spec.block) {
      const end = line.indexOf(spec.block[1], i);
      if (end < 0) {
        push("comment", line.slice(i));
        return out;
      }
      push("comment", line.slice(i, end + spec.block[1].length));
      i = end + spec.block[1].length;
      state.inBlock = false;
      continue;
    }
    const rest = line.slice(i);
    if (spec.line?.some((m) => rest.startsWith(m) && (m !== "#" || i === 0 || /[\s;]/.test(line[i - 1]!)))) {
      push("comment", rest);
      return out;
    }
    if (spec.block && rest.startsWith(spec.block[0])) {
      state.inBlock = true;
      push("comment", spec.block[0]);
      i += spec.block[0].length;
      continue;
    }
    const ch = line[i]!;
    if (spec.quotes.includes(ch)) {
      let j = i + 1;
      while (j < line.length && line[j] !== ch) j += line[j] === "\\" ? 2 : 1;
      push("string", line.slice(i, Math.min(j + 1, line.length)));
      i = j + 1;
      continue;
    }
    const num = /^(0x[0-9a-fA-F_]+|\d[\d_]*(\.\d+)?([eE][+-]?\d+)?)/.exec(rest);
    if (num && (i === 0 || !/[\w$]/.test(line[i - 1]!))) {
      push("number", num[0]);
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_$][\w$]*\??/.exec(rest);
    if (word) {
      const w = spec.keywords.has(word[0]) ? word[0] : word[0].replace(/\?$/, "");
      push(spec.keywords.has(w) ? "keyword" : "plain", w);
      i += w.length;
      continue;
    }
    push("plain", ch);
    i++;
  }
  return out;
}
