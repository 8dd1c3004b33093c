// Unified diff parser: files → hunks → lines with old/new line numbers. Hunk
// headers give line counts, so a removed line that happens to start with
// "---" is never mistaken for the next file's header.

export interface DiffLine {
  type: "add" | "del" | "ctx" | "note";
  text: string;
  oldNo?: number;
  newNo?: number;
}

export interface DiffHunk {
  header: string;
  lines: DiffLine[];
}

export interface DiffFile {
  path: string;
  oldPath?: string;
  /** Header lines between files (index, mode, rename, "Binary files differ"). */
  meta: string[];
  hunks: DiffHunk[];
  added: number;
  removed: number;
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$/;

function stripPrefix(p: string): string {
  const path = p.replace(/\t.*$/, "");
  return path === "/dev/null" ? path : path.replace(/^[ab]\//, "");
}

export function parseUnifiedDiff(diff: string, fallbackPath = ""): DiffFile[] {
  const files: DiffFile[] = [];
  let file: DiffFile | undefined;
  let hunk: DiffHunk | undefined;
  let oldLeft = 0;
  let newLeft = 0;
  let oldNo = 0;
  let newNo = 0;
  const newFile = (path: string): DiffFile => {
    file = { path, meta: [], hunks: [], added: 0, removed: 0 };
    files.push(file);
    hunk = undefined;
    return file;
  };
  const lines = diff.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (const raw of lines) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (hunk && (oldLeft > 0 || newLeft > 0)) {
      const sign = line[0];
      const text = line.slice(1);
      if (sign === "+" && newLeft > 0) {
        hunk.lines.push({ type: "add", text, newNo: newNo++ });
        newLeft--;
        file!.added++;
        continue;
      }
      if (sign === "-" && oldLeft > 0) {
        hunk.lines.push({ type: "del", text, oldNo: oldNo++ });
        oldLeft--;
        file!.removed++;
        continue;
      }
      if ((sign === " " || line === "") && oldLeft > 0 && newLeft > 0) {
        hunk.lines.push({ type: "ctx", text, oldNo: oldNo++, newNo: newNo++ });
        oldLeft--;
        newLeft--;
        continue;
      }
      if (sign === "\\") {
        hunk.lines.push({ type: "note", text: line.slice(2) });
        continue;
      }
      // The hunk ended early (a truncated diff): fall through to headers.
      oldLeft = newLeft = 0;
    }
    if (line.startsWith("\\") && hunk) {
      hunk.lines.push({ type: "note", text: line.slice(2) });
      continue;
    }
    const m = HUNK.exec(line);
    if (m) {
      const f = file ?? newFile(fallbackPath);
      hunk = { header: line, lines: [] };
      f.hunks.push(hunk);
      oldNo = Number(m[1]);
      newNo = Number(m[3]);
      oldLeft = m[2] === undefined ? 1 : Number(m[2]);
      newLeft = m[4] === undefined ? 1 : Number(m[4]);
      continue;
    }
    if (line.startsWith("diff --git ")) {
      const g = /^diff --git a\/(.*) b\/(.*)$/.exec(line);
      const f = newFile(g ? g[2]! : line.slice(11));
      if (g && g[1] !== g[2]) f.oldPath = g[1]!;
      continue;
    }
    if (line.startsWith("--- ")) {
      // A new file unless a "diff --git" header opened one that has no hunks yet.
      const f = file && file.hunks.length === 0 ? file : newFile(fallbackPath);
      const old = stripPrefix(line.slice(4));
      if (old !== "/dev/null") f.oldPath = old;
      continue;
    }
    if (line.startsWith("+++ ") && file && file.hunks.length === 0) {
      const path = stripPrefix(line.slice(4));
      if (path !== "/dev/null") file.path = path;
      else if (file.oldPath) file.path = file.oldPath;
      if (file.oldPath === file.path) delete file.oldPath;
      continue;
    }
    if (line === "" && !file) continue;
    (file ?? newFile(fallbackPath)).meta.push(line);
  }
  for (const f of files) if (f.path === "") f.path = f.oldPath ?? fallbackPath;
  return files;
}
