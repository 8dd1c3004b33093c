// An agent process's stderr as log lines: split on newlines, bounded in
// length, and stripped of ANSI codes and control characters before they reach
// the host's terminal or log.
const MAX_STDERR_LINE = 2000;

export function pipeLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    rest += chunk;
    const lines = rest.split("\n");
    rest = lines.pop() ?? "";
    if (rest.length > MAX_STDERR_LINE * 4) rest = rest.slice(0, MAX_STDERR_LINE);
    for (const line of lines) emitLine(line, onLine);
  });
  stream.on("end", () => emitLine(rest, onLine));
}

// Escape sequences (colours, cursor moves) and other control characters an agent's stderr may carry.
// eslint-disable-next-line no-control-regex
const ESCAPE_SEQUENCES = /\x1b\[[0-9;]*[A-Za-z]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\x00-\x08\x0b-\x1f\x7f]/g;

function emitLine(raw: string, onLine: (line: string) => void): void {
  const line = raw.replace(ESCAPE_SEQUENCES, "").replace(CONTROL_CHARACTERS, "").trim();
  if (line) onLine(line.length > MAX_STDERR_LINE ? `${line.slice(0, MAX_STDERR_LINE)}…` : line);
}
