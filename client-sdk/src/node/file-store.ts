// Node persistence: one JSON file per key in a directory of mode 0700, each
// file mode 0600 (the device identity seed lives here), written atomically
// (temporary file, fsync, rename) so a crash never leaves half a file.
import { mkdirSync, chmodSync } from "node:fs";
import { open, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Store } from "../store.ts";

const KEY = /^[a-z0-9-]{1,64}$/;
/** Refuse to read files larger than this (the SDK's values are small). */
const MAX_FILE = 4 * 1024 * 1024;

export class FileStore implements Store {
  readonly dir: string;
  readonly canStoreCryptoKeys = false;
  #writes = 0;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }

  #path(key: string): string {
    if (!KEY.test(key)) throw new Error(`invalid store key ${JSON.stringify(key.slice(0, 64))}`);
    return join(this.dir, `${key}.json`);
  }

  async get(key: string): Promise<unknown> {
    const path = this.#path(key);
    try {
      if ((await stat(path)).size > MAX_FILE) throw new Error(`${path} is too large`);
      return JSON.parse(await readFile(path, "utf8")) as unknown;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    const path = this.#path(key);
    const tmp = `${path}.${process.pid}.${++this.#writes}.tmp`;
    const file = await open(tmp, "w", 0o600);
    try {
      await file.writeFile(JSON.stringify(value, null, 2) + "\n");
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }
}
