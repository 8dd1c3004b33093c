// The hashes the user trusts (<airlock home>/hooks-trust.json). A hook runs
// only when its current hash (hash.ts) is here. Read on every hook run, so
// `airlock hooks trust|untrust` takes effect without restarting the host.
// A damaged file trusts nothing (hooks fail closed) and says why.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, rename, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import * as z from "zod/mini";
import { HostError } from "../host-error.ts";

const MAX_FILE = 1024 * 1024;
const MAX_ENTRIES = 1000;

const entrySchema = z.strictObject({
  hash: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  name: z.string().check(z.maxLength(64)),
  source: z.enum(["user", "repo"]),
  /** The policy file that declared the hook when it was trusted. */
  file: z.string().check(z.maxLength(4096)),
  trustedAt: z.string().check(z.maxLength(64)),
});
const fileSchema = z.strictObject({ version: z.literal(1), trusted: z.array(entrySchema).check(z.maxLength(MAX_ENTRIES)) });
export type TrustEntry = z.infer<typeof entrySchema>;

export class TrustStoreError extends HostError<"TRUST_FILE_INVALID"> {
  constructor(message: string, options?: { cause?: unknown }) {
    super("TRUST_FILE_INVALID", message, options);
    this.name = "TrustStoreError";
  }
}

export class TrustStore {
  #writing: Promise<void> = Promise.resolve();
  constructor(readonly file: string) {}

  /** Every trusted entry; throws TrustStoreError when the file is damaged. */
  async list(): Promise<TrustEntry[]> {
    let text: string;
    try {
      const fh = await open(this.file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new TrustStoreError(`${this.file}: not a regular file`);
        if (st.size > MAX_FILE) throw new TrustStoreError(`${this.file}: larger than ${MAX_FILE} bytes`);
        text = await fh.readFile("utf8");
      } finally {
        await fh.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      if (e instanceof TrustStoreError) throw e;
      throw new TrustStoreError(`${this.file}: cannot read: ${(e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new TrustStoreError(`${this.file}: not valid JSON`);
    }
    const r = fileSchema.safeParse(json);
    if (!r.success) throw new TrustStoreError(`${this.file}: not a hook trust file (${r.error.issues[0]?.message ?? "invalid"})`);
    return r.data.trusted;
  }

  async isTrusted(hash: string): Promise<boolean> {
    return (await this.list()).some((e) => e.hash === hash);
  }

  /** Adds a hash (a no-op when already trusted). */
  trust(entry: Omit<TrustEntry, "trustedAt">, now = new Date()): Promise<void> {
    return this.#update((list) => (list.some((e) => e.hash === entry.hash) ? list : [...list, { ...entry, trustedAt: now.toISOString() }].slice(-MAX_ENTRIES)));
  }

  /** Removes hashes; resolves with how many were removed. */
  async untrust(hashes: readonly string[]): Promise<number> {
    let removed = 0;
    await this.#update((list) => {
      const kept = list.filter((e) => !hashes.includes(e.hash));
      removed = list.length - kept.length;
      return kept;
    });
    return removed;
  }

  /** Serialised read-modify-write, written atomically (temp file + rename, mode 0600). */
  #update(change: (list: TrustEntry[]) => TrustEntry[]): Promise<void> {
    const run = this.#writing.then(async () => {
      const next = change(await this.list());
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify({ version: 1, trusted: next }, null, 2) + "\n", { mode: 0o600, flag: "wx" });
        await rename(tmp, this.file);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw e;
      }
    });
    this.#writing = run.catch(() => undefined);
    return run;
  }
}
