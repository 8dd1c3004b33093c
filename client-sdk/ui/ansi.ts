// A strict, incremental parser for terminal output. It understands SGR
// (colours and text attributes, including 256-colour and truecolor), line feeds
// and carriage returns, and drops every other escape or control sequence
// (cursor movement, OSC titles and hyperlinks, DCS, …) without interpreting it.
// Output is plain data: the renderer turns it into Text nodes and CSS values it
// builds itself from validated numbers, so no byte of the input becomes markup.

export type AnsiColor = { palette: number } | { rgb: [number, number, number] };

export interface AnsiStyle {
  fg?: AnsiColor;
  bg?: AnsiColor;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
  hidden?: boolean;
  strike?: boolean;
}

export type AnsiToken = { type: "text"; text: string; style: AnsiStyle } | { type: "newline" } | { type: "cr" };

// Sequences longer than this are not real terminal output: drop them whole.
const MAX_CSI = 96;
const MAX_STRING_SEQ = 4096;

const enum State {
  Text,
  Esc,
  Csi,
  /** OSC, DCS, SOS, PM, APC: skipped up to BEL or ST. */
  StringSeq,
  StringSeqEsc,
  /** ESC followed by intermediates, waiting for the final byte. */
  EscIntermediate,
}

export class AnsiParser {
  #state = State.Text;
  #seq = "";
  #seqLen = 0;
  #style: AnsiStyle = {};
  #pendingCr = false;

  /** Current attributes (a copy). */
  get style(): AnsiStyle {
    return { ...this.#style };
  }

  /** Parses a chunk; sequences split across chunks are completed by later calls. */
  feed(chunk: string): AnsiToken[] {
    const out: AnsiToken[] = [];
    let text = "";
    const flushText = () => {
      if (text !== "") {
        out.push({ type: "text", text, style: { ...this.#style } });
        text = "";
      }
    };
    for (const ch of chunk) {
      const code = ch.codePointAt(0)!;
      if (this.#pendingCr) {
        this.#pendingCr = false;
        // CR LF is a plain line break; a lone CR returns to the line start.
        if (ch !== "\n") {
          flushText();
          out.push({ type: "cr" });
        }
      }
      switch (this.#state) {
        case State.Text:
          if (ch === "\x1b") {
            this.#state = State.Esc;
          } else if (code === 0x9b) {
            this.#startCsi();
          } else if (code === 0x9d || code === 0x90 || code === 0x98 || code === 0x9e || code === 0x9f) {
            this.#startString();
          } else if (ch === "\n") {
            flushText();
            out.push({ type: "newline" });
          } else if (ch === "\r") {
            this.#pendingCr = true;
          } else if (ch === "\t") {
            text += ch;
          } else if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) {
            // Other C0/C1 controls (BEL, backspace, …) have no visible effect here.
          } else {
            text += ch;
          }
          break;
        case State.Esc:
          if (ch === "[") this.#startCsi();
          else if (ch === "]" || ch === "P" || ch === "X" || ch === "^" || ch === "_") this.#startString();
          else if (code >= 0x20 && code <= 0x2f) this.#state = State.EscIntermediate;
          else if (ch === "\x1b") this.#state = State.Esc;
          else this.#state = State.Text; // two-byte sequence (ESC 7, ESC c, …): ignored
          break;
        case State.EscIntermediate:
          if (code >= 0x30 && code <= 0x7e) this.#state = State.Text;
          else if (!(code >= 0x20 && code <= 0x2f)) this.#state = State.Text;
          break;
        case State.Csi:
          if (code >= 0x40 && code <= 0x7e) {
            if (ch === "m" && this.#seqLen <= MAX_CSI) {
              flushText();
              this.#applySgr(this.#seq);
            }
            this.#state = State.Text;
          } else if (code >= 0x20 && code <= 0x3f) {
            // Past the cap the bytes are still consumed, but the sequence is void.
            if (++this.#seqLen <= MAX_CSI) this.#seq += ch;
          } else if (ch === "\x1b") {
            this.#state = State.Esc; // aborted sequence
          } else {
            // A byte that cannot be in a CSI: abandon the sequence.
            this.#state = State.Text;
          }
          break;
        case State.StringSeq:
          if (ch === "\x07" || code === 0x9c) this.#state = State.Text;
          else if (ch === "\x1b") this.#state = State.StringSeqEsc;
          else if (++this.#seqLen > MAX_STRING_SEQ) this.#state = State.Text;
          break;
        case State.StringSeqEsc:
          this.#state = ch === "\\" ? State.Text : State.StringSeq;
          break;
      }
    }
    flushText();
    return out;
  }

  #startCsi(): void {
    this.#state = State.Csi;
    this.#seq = "";
    this.#seqLen = 0;
  }

  #startString(): void {
    this.#state = State.StringSeq;
    this.#seqLen = 0;
  }

  /** Applies an SGR parameter string; a malformed one changes nothing at all. */
  #applySgr(params: string): void {
    if (!/^[0-9;:]*$/.test(params)) return; // private markers (<=>?) or intermediates
    const next = parseSgr(params, this.#style);
    if (next) this.#style = next;
  }
}

const int = (s: string | undefined): number | undefined => (s !== undefined && /^\d{1,3}$/.test(s) ? Number(s) : undefined);
const byte = (s: string | undefined): number | undefined => {
  const n = int(s);
  return n !== undefined && n <= 255 ? n : undefined;
};

/** Returns the style after `params`, or undefined if any part is malformed. */
export function parseSgr(params: string, current: AnsiStyle): AnsiStyle | undefined {
  const style: AnsiStyle = { ...current };
  const parts = params === "" ? ["0"] : params.split(";");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const sub = part.split(":");
    const head = part === "" ? 0 : int(sub[0]);
    if (head === undefined) return undefined;
    if (head === 38 || head === 48 || head === 58) {
      let color: AnsiColor | undefined;
      if (sub.length > 1) {
        // Colon form: 38:5:n, 38:2:r:g:b or 38:2:<colour space>:r:g:b
        if (sub[1] === "5" && sub.length === 3) color = palette(byte(sub[2]));
        else if (sub[1] === "2" && sub.length === 5) color = rgb(sub[2], sub[3], sub[4]);
        else if (sub[1] === "2" && sub.length === 6) color = rgb(sub[3], sub[4], sub[5]);
        if (!color) return undefined;
      } else {
        const mode = parts[i + 1];
        if (mode === "5") {
          color = palette(byte(parts[i + 2]));
          i += 2;
        } else if (mode === "2") {
          color = rgb(parts[i + 2], parts[i + 3], parts[i + 4]);
          i += 4;
        }
        if (!color) return undefined;
      }
      if (head === 38) style.fg = color;
      else if (head === 48) style.bg = color;
      // 58 (underline colour) is parsed for validity and otherwise ignored.
      continue;
    }
    if (sub.length > 1 && head !== 4) return undefined;
    switch (true) {
      case head === 0:
        for (const k of Object.keys(style) as Array<keyof AnsiStyle>) delete style[k];
        break;
      case head === 1:
        style.bold = true;
        break;
      case head === 2:
        style.dim = true;
        break;
      case head === 3:
        style.italic = true;
        break;
      case head === 4:
        style.underline = sub[1] !== "0";
        break;
      case head === 7:
        style.inverse = true;
        break;
      case head === 8:
        style.hidden = true;
        break;
      case head === 9:
        style.strike = true;
        break;
      case head === 21:
        style.underline = true;
        break;
      case head === 22:
        delete style.bold;
        delete style.dim;
        break;
      case head === 23:
        delete style.italic;
        break;
      case head === 24:
        delete style.underline;
        break;
      case head === 27:
        delete style.inverse;
        break;
      case head === 28:
        delete style.hidden;
        break;
      case head === 29:
        delete style.strike;
        break;
      case head >= 30 && head <= 37:
        style.fg = { palette: head - 30 };
        break;
      case head === 39:
        delete style.fg;
        break;
      case head >= 40 && head <= 47:
        style.bg = { palette: head - 40 };
        break;
      case head === 49:
        delete style.bg;
        break;
      case head >= 90 && head <= 97:
        style.fg = { palette: head - 90 + 8 };
        break;
      case head >= 100 && head <= 107:
        style.bg = { palette: head - 100 + 8 };
        break;
      default:
        break; // blink, fonts, … : valid, not rendered
    }
    if (style.underline === false) delete style.underline;
  }
  return style;
}

function palette(n: number | undefined): AnsiColor | undefined {
  return n === undefined ? undefined : { palette: n };
}

function rgb(r: string | undefined, g: string | undefined, b: string | undefined): AnsiColor | undefined {
  const [R, G, B] = [byte(r), byte(g), byte(b)];
  return R === undefined || G === undefined || B === undefined ? undefined : { rgb: [R, G, B] };
}

const CUBE = [0, 95, 135, 175, 215, 255];

/** CSS colour for a colour; palette 0–15 use the themable variables. */
export function cssColor(color: AnsiColor): string {
  if ("rgb" in color) return `rgb(${color.rgb[0]}, ${color.rgb[1]}, ${color.rgb[2]})`;
  const n = color.palette;
  if (n < 16) return `var(--_ansi-${n})`;
  if (n < 232) {
    const i = n - 16;
    return `rgb(${CUBE[Math.floor(i / 36)]}, ${CUBE[Math.floor(i / 6) % 6]}, ${CUBE[i % 6]})`;
  }
  const level = 8 + (n - 232) * 10;
  return `rgb(${level}, ${level}, ${level})`;
}

/** A stable key so equal styles can share one span. */
export function styleKey(style: AnsiStyle): string {
  const c = (x: AnsiColor | undefined) => (x === undefined ? "" : "rgb" in x ? x.rgb.join(",") : `p${x.palette}`);
  return `${c(style.fg)}|${c(style.bg)}|${style.bold ? 1 : 0}${style.dim ? 1 : 0}${style.italic ? 1 : 0}${style.underline ? 1 : 0}${style.inverse ? 1 : 0}${style.hidden ? 1 : 0}${style.strike ? 1 : 0}`;
}

/** Strips all escape sequences: the visible text of some terminal output. */
export function stripAnsi(text: string): string {
  const parser = new AnsiParser();
  return parser
    .feed(text)
    .map((t) => (t.type === "text" ? t.text : t.type === "newline" ? "\n" : ""))
    .join("");
}
