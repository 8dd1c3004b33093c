// One JSON file of an agent adapter's own state (the Codex thread map, the ACP
// session map) under its dataDir. Reads are bounded, and a damaged file is set
// aside and reported, never fatal; writes are atomic and durable (fsynced temp
// file + rename + fsync of the folder, mode 0600) and serialised, so an older
// snapshot never lands after a newer one.
import { mkdir, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { SerialQueue, writeFileAtomic } from "../durable/durable-file.ts";

const MAX_FILE = 16 * 1024 * 1024;

export class AdapterStateFile {
  private readonly writing = new SerialQueue();

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
    return this.writing.run(() => writeFileAtomic(join(this.dir, this.file), JSON.stringify(snapshot(), null, 1), { uniqueTemp: true }));
  }

  /** Resolves once every write started so far has landed (or failed). */
  async flush(): Promise<void> {
    await this.writing.idle();
  }
}
