// Shared CSS for every component. Public theming goes through the
// --airlock-* custom properties (they inherit into shadow roots); each maps to
// a private --_* token with a light and a dark default. docs/web-app.md lists
// them.

const TOKENS: Array<[name: string, light: string, dark: string]> = [
  ["font", "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", ""],
  ["mono-font", "ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'Liberation Mono', monospace", ""],
  ["radius", "12px", ""],
  // Type scale and spacing (4 px grid).
  ["text-xs", "0.75rem", ""],
  ["text-sm", "0.875rem", ""],
  ["text-md", "1rem", ""],
  ["text-lg", "1.125rem", ""],
  ["space-1", "0.25rem", ""],
  ["space-2", "0.5rem", ""],
  ["space-3", "0.75rem", ""],
  ["space-4", "1rem", ""],
  ["bg", "#ffffff", "#0f1115"],
  ["surface", "#f5f6f8", "#181b21"],
  ["fg", "#16181d", "#e8eaed"],
  ["muted", "#5b6270", "#a0a7b4"],
  ["border", "#d6d9df", "#2e333d"],
  ["accent", "#1f5fd6", "#7aa7ff"],
  ["accent-fg", "#ffffff", "#0f1115"],
  ["danger", "#b42318", "#ff8a80"],
  ["success", "#137333", "#7fd99a"],
  ["warning", "#8a5100", "#f4c263"],
  ["focus", "#1f5fd6", "#7aa7ff"],
  ["tier-steer", "#1f5fd6", "#7aa7ff"],
  ["tier-continue", "#137333", "#7fd99a"],
  ["tier-expand", "#9a5700", "#f4b350"],
  ["tier-commit", "#b42318", "#ff8a80"],
  ["code-bg", "#f6f8fa", "#14171c"],
  ["diff-add-bg", "#e6ffec", "#12361f"],
  ["diff-del-bg", "#ffebe9", "#3d1518"],
  ["diff-hunk-bg", "#eef3ff", "#1a2336"],
  ["syntax-keyword", "#8b2bb9", "#d2a8ff"],
  ["syntax-string", "#0a6b2e", "#a5d6a7"],
  ["syntax-comment", "#6a737d", "#8b949e"],
  ["syntax-number", "#005cc5", "#79c0ff"],
  ["terminal-bg", "#111418", "#0a0c0f"],
  ["terminal-fg", "#e6e6e6", "#e6e6e6"],
  ["terminal-stderr", "#ff9e9e", "#ff9e9e"],
  ["terminal-max-height", "22rem", ""],
];

// The 16 base ANSI colours (xterm defaults), themable as --airlock-ansi-0..15.
export const ANSI_16 = [
  "#000000",
  "#cd3131",
  "#0dbc79",
  "#e5e510",
  "#2472c8",
  "#bc3fbc",
  "#11a8cd",
  "#e5e5e5",
  "#666666",
  "#f14c4c",
  "#23d18b",
  "#f5f543",
  "#3b8eea",
  "#d670d6",
  "#29b8db",
  "#ffffff",
];

function tokenBlock(dark: boolean): string {
  const lines = TOKENS.filter(([, , d]) => !dark || d !== "").map(([n, l, d]) => `--_${n}: var(--airlock-${n}, ${dark ? d : l});`);
  if (!dark) ANSI_16.forEach((c, i) => lines.push(`--_ansi-${i}: var(--airlock-ansi-${i}, ${c});`));
  return lines.join("\n");
}

/** Public custom property names, for documentation and tests. */
export const THEME_PROPERTIES = [...TOKENS.map(([n]) => `--airlock-${n}`), ...ANSI_16.map((_, i) => `--airlock-ansi-${i}`)];

export const BASE_CSS = `
:host { ${tokenBlock(false)}
  display: block; font-family: var(--_font); color: var(--_fg); font-size: 1rem; line-height: 1.45;
  -webkit-text-size-adjust: 100%; }
@media (prefers-color-scheme: dark) { :host { ${tokenBlock(true)} } }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
button { font: inherit; min-height: 44px; min-width: 44px; padding: 0.5rem 1rem; border-radius: calc(var(--_radius) - 4px);
  border: 1px solid var(--_border); background: var(--_surface); color: var(--_fg); cursor: pointer; touch-action: manipulation; }
button:disabled { opacity: 0.55; cursor: not-allowed; }
button.primary { background: var(--_accent); color: var(--_accent-fg); border-color: var(--_accent); font-weight: 600; }
button.danger { color: var(--_danger); border-color: var(--_danger); background: transparent; font-weight: 600; }
:focus-visible { outline: 3px solid var(--_focus); outline-offset: 2px; }
code, pre, .mono { font-family: var(--_mono-font); font-size: 0.875rem; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.muted { color: var(--_muted); }
.card { background: var(--_bg); border: 1px solid var(--_border); border-radius: var(--_radius); padding: 0.875rem 1rem; }
@media (prefers-reduced-motion: reduce) { * { animation: none !important; transition: none !important; } }
`;
