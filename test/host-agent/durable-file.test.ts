// The host's durable-file primitives (host-agent/src/durable/durable-file.ts):
// fsyncDir tolerates filesystems that cannot fsync a directory, atomic
// replaces leave the old or the new content and no temp file, the "already
// open" guard, the serial queue's order, and line scanning across chunks.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  forEachLine,
  fsyncDir,
  fsyncDirSync,
  isDirSyncUnsupported,
  OpenGuard,
  SerialQueue,
  writeFileAtomic,
  writeFileAtomicSync,
} from "../../host-agent/src/durable/durable-file.ts";
import { tempDir } from "../support/temp.ts";

describe("fsyncDir", () => {
  it("syncs a real directory, and reports a missing one", async () => {
    const dir = tempDir("airlock-durable-");
    await expect(fsyncDir(dir)).resolves.toBeUndefined();
    expect(() => fsyncDirSync(dir)).not.toThrow();
    await expect(fsyncDir(join(dir, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(() => fsyncDirSync(join(dir, "missing"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });

  it.runIf(process.platform === "linux")("tolerates a filesystem that cannot fsync a directory (procfs answers EINVAL)", async () => {
    // procfs and sysfs refuse fsync on directories with EINVAL, as some network and FUSE filesystems do.
    await expect(fsyncDir("/proc/self")).resolves.toBeUndefined();
    expect(() => fsyncDirSync("/proc/self")).not.toThrow();
  });

  it("tells 'not supported here' from real failures", () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    for (const code of ["EINVAL", "ENOTSUP", "EOPNOTSUPP", "EISDIR"]) expect(isDirSyncUnsupported(err(code))).toBe(true);
    for (const code of ["EIO", "ENOSPC", "EACCES", "ENOENT"]) expect(isDirSyncUnsupported(err(code))).toBe(false);
    expect(isDirSyncUnsupported(new Error("no code"))).toBe(false);
  });
});

describe("atomic replace", () => {
  it("replaces a file's content, mode 0600, leaving no temp file (async and sync)", async () => {
    const dir = tempDir("airlock-durable-");
    const file = join(dir, "state.json");
    writeFileSync(file, "old\n", { mode: 0o644 });
    await writeFileAtomic(file, "new\n");
    expect(readFileSync(file, "utf8")).toBe("new\n");
    if (process.platform !== "win32") expect(statSync(file).mode & 0o777).toBe(0o600);
    writeFileAtomicSync(file, Buffer.from("newer\n"), { uniqueTemp: true });
    expect(readFileSync(file, "utf8")).toBe("newer\n");
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });

  it("a failed replace keeps the old content and removes its temp file", async () => {
    const dir = tempDir("airlock-durable-");
    const file = join(dir, "state.json");
    writeFileSync(file, "kept\n");
    // The target is a directory: the rename fails after the temp file was written.
    const blocked = join(dir, "blocked");
    mkdirSync(join(blocked, "inside"), { recursive: true });
    await expect(writeFileAtomic(blocked, "data")).rejects.toThrow();
    expect(() => writeFileAtomicSync(blocked, "data", { uniqueTemp: true })).toThrow();
    expect(readFileSync(file, "utf8")).toBe("kept\n");
    expect(readdirSync(dir).sort()).toEqual(["blocked", "state.json"]);
  });

  it("concurrent writers with their own temp names never mix: the file is one of the contents", async () => {
    const dir = tempDir("airlock-durable-");
    const file = join(dir, "devices.json");
    const contents = Array.from({ length: 20 }, (_, i) => JSON.stringify({ writer: i, pad: "x".repeat(10_000 + i) }));
    await Promise.all(contents.map((c) => writeFileAtomic(file, c, { uniqueTemp: true })));
    expect(contents).toContain(readFileSync(file, "utf8"));
    expect(readdirSync(dir)).toEqual(["devices.json"]);
  });
});

describe("OpenGuard", () => {
  it("refuses a second claim on the same path (however it is spelled) until released", () => {
    const guard = new OpenGuard();
    const busy = () => new Error("already open in this process");
    const key = guard.claim("/tmp/a/../a/store", busy);
    expect(() => guard.claim("/tmp/a/store", busy)).toThrow("already open in this process");
    expect(guard.has("/tmp/a/store")).toBe(true);
    expect(guard.claim("/tmp/b/store", busy)).toBe("/tmp/b/store");
    guard.release(key);
    expect(guard.has("/tmp/a/store")).toBe(false);
    expect(() => guard.claim("/tmp/a/store", busy)).not.toThrow();
  });
});

describe("SerialQueue", () => {
  it("runs jobs one at a time in the order they were added, whatever each takes; a failure does not stop the next", async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    let running = 0;
    const job =
      (name: string, ticks: number, fail = false) =>
      async () => {
        running++;
        expect(running).toBe(1);
        log.push(`start ${name}`);
        for (let i = 0; i < ticks; i++) await new Promise<void>((resolve) => setImmediate(resolve));
        log.push(`end ${name}`);
        running--;
        if (fail) throw new Error(`${name} failed`);
        return name;
      };
    const results = [queue.run(job("a", 5)), queue.run(job("b", 0, true)), queue.run(job("c", 2)), queue.run(() => "sync")];
    await expect(results[0]).resolves.toBe("a");
    await expect(results[1]).rejects.toThrow("b failed");
    await expect(results[2]).resolves.toBe("c");
    await expect(results[3]).resolves.toBe("sync");
    await queue.idle();
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });
});

describe("forEachLine", () => {
  it("delivers every complete line across read chunks, with offsets; stops early; refuses a line over the limit", async () => {
    const dir = tempDir("airlock-durable-");
    const file = join(dir, "log.jsonl");
    // Lines around the 256 KiB read chunk, so some straddle two reads; the last one has no line break.
    const lines = Array.from({ length: 40 }, (_, i) => `${i}:`.padEnd(1 + ((i * 37_013) % 40_000), "y"));
    writeFileSync(file, lines.join("\n") + "\npartial");
    const size = statSync(file).size;
    const fh = await open(file, "r");
    try {
      const seen: { text: string; offset: number }[] = [];
      const end = await forEachLine(
        fh,
        0,
        size,
        64 * 1024,
        (at) => new Error(`too long at ${at}`),
        (line, offset) => {
          seen.push({ text: line.toString("utf8"), offset });
        },
      );
      expect(seen.map((l) => l.text)).toEqual(lines);
      let offset = 0;
      for (const l of seen) {
        expect(l.offset).toBe(offset);
        offset += Buffer.byteLength(l.text) + 1;
      }
      expect(end).toBe(size - "partial".length);

      let count = 0;
      const stop = await forEachLine(
        fh,
        0,
        size,
        64 * 1024,
        () => new Error("too long"),
        () => ++count < 3,
      );
      expect(count).toBe(3);
      expect(stop).toBe(seen[3]!.offset);

      await expect(
        forEachLine(
          fh,
          0,
          size,
          1000,
          (at) => new Error(`too long at ${at}`),
          () => undefined,
        ),
      ).rejects.toThrow(/^too long at \d+$/);
    } finally {
      await fh.close();
    }
  });
});
