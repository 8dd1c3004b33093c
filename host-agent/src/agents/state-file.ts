// One JSON file of an agent adapter's own state (the Codex thread map, the ACP
// session map) under its dataDir. Reads are bounded, and a damaged file is set
// aside and reported, never fatal; writes are atomic (temp file + rename,
// mode 0600) and serialised, so an older snapshot never lands after a newer one.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

const MAX_FILE = 16 * 1024 * 1024;

export class AdapterStateFile {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly file: string,
    /** Prefix of log lines ("codex", "acp"). */
    private readonly source: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The parsed file; undefined when there is none yet or it was damaged (then moved aside). */
  async read(): Promise<unknown> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, this.file);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    try {
      if (text.length > MAX_FILE) throw new Error("too large");
      return JSON.parse(text) as unknown;
    } catch {
      const aside = join(this.dir, `${this.file}.damaged-${Date.now()}`);
      await rename(path, aside);
      this.log(`${this.source}: ${this.file} is not valid JSON; moved it to ${aside} and starting empty`);
      return undefined;
    }
  }

  /** Writes what `snapshot` returns when this write's turn comes. */
  write(snapshot: () => unknown): Promise<void> {
    const next = this.writing.then(async () => {
      const path = join(this.dir, this.file);
      const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      await writeFile(tmp, JSON.stringify(snapshot(), null, 1), { mode: 0o600 });
      await rename(tmp, path);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every write started so far has landed (or failed). */
  async flush(): Promise<void> {
    await this.writing;
  }
}
