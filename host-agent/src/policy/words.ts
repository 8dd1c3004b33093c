// Reading an argv the way command-line tools do: option words, positionals
// (everything not an option, and everything after `--`), short-option
// clusters (`-rf`), and skipping a wrapper's own options to find the command
// it runs. Pure helpers with no opinion about risk.
import type { Word } from "./shell-parse.ts";

export const texts = (ws: Word[]): string[] => ws.map((w) => w.text);
export const isOpt = (w: Word | undefined): boolean => w !== undefined && w.text.startsWith("-") && w.text !== "-";
export const has = (ws: Word[], ...opts: string[]): boolean =>
  ws.some((w) => opts.includes(w.text) || opts.some((o) => o.startsWith("--") && w.text.startsWith(o + "=")));
/** A short-option cluster such as -rf contains `letter`. */
export const hasShort = (ws: Word[], letter: string): boolean => ws.some((w) => /^-[A-Za-z]+$/.test(w.text) && w.text.includes(letter));
export const positionals = (ws: Word[]): Word[] => {
  const out: Word[] = [];
  let rest = false;
  for (const w of ws) {
    if (rest || !isOpt(w)) out.push(w);
    else if (w.text === "--") rest = true;
  }
  return out;
};
export const baseName = (t: string): string => t.replace(/^.*\//, "").replace(/\.exe$/i, "");

/** Skip wrapper options: `withArg` options take the following word. */
export function skipOptions(ws: Word[], withArg: string[]): Word[] {
  let i = 0;
  while (i < ws.length) {
    const t = (ws[i] as Word).text;
    if (t === "--") return ws.slice(i + 1);
    if (!t.startsWith("-") || t === "-") break;
    i += withArg.includes(t) ? 2 : 1;
  }
  return ws.slice(i);
}

/** Drop the options in `withArg` and the word each takes, wherever they are. */
export function skipOptionsAll(ws: Word[], withArg: string[]): Word[] {
  const out: Word[] = [];
  for (let i = 0; i < ws.length; i++) {
    const t = (ws[i] as Word).text;
    if (withArg.includes(t)) i++;
    else out.push(ws[i] as Word);
  }
  return out;
}
