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

function emitLine(raw: string, onLine: (line: string) => void): void {
  // eslint-disable-next-line no-control-regex -- strips escape sequences and controls from an agent's stderr
  const line = raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "").trim();
  if (line) onLine(line.length > MAX_STDERR_LINE ? `${line.slice(0, MAX_STDERR_LINE)}…` : line);
}
