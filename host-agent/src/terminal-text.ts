// Text from peers (device names, agent output in prompts) shown on the host's
// terminal. A peer must not be able to move the cursor, recolour, hide or
// reorder what the operator reads (ANSI escapes, bidi overrides), so every
// control, format and bidi character is shown as a visible \u{…} escape.
// Also: the column layout the CLI's tables share.

/** C0/C1 controls, DEL, and the bidi/format characters that reorder or hide text. */
// eslint-disable-next-line no-control-regex -- the controls this module removes
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/gu;

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** A table as lines: columns padded to their widest cell, two spaces apart, no trailing blanks. */
export function tableLines(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
}
