// The shared temp-folder helper removes what it made, and only after the
// file's own afterAll hooks (which stop processes living in those folders).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir } from "./temp.ts";

describe("tempDir", () => {
  it("makes fresh folders under the system temp folder with the prefix", () => {
    const a = tempDir("airlock-temp-test-");
    const b = tempDir("airlock-temp-test-");
    expect(a).not.toBe(b);
    expect(a.startsWith(join(tmpdir(), "airlock-temp-test-"))).toBe(true);
    expect(existsSync(a) && existsSync(b)).toBe(true);
  });

  it("removeTempDirs removes every folder made, contents and all", () => {
    const a = tempDir("airlock-temp-test-");
    mkdirSync(join(a, "nested", "deeper"), { recursive: true });
    writeFileSync(join(a, "nested", "deeper", "file"), "x");
    const b = tempDir("airlock-temp-test-");
    removeTempDirs();
    expect(existsSync(a)).toBe(false);
    expect(existsSync(b)).toBe(false);
    // Idempotent: nothing left to remove, no throw.
    removeTempDirs();
  });

  // Registered after the helper's own afterAll (import time): with vitest's stack
  // order it runs first, so a folder made in the file still exists here.
  let late = "";
  it("keeps folders until the file's own afterAll hooks have run", () => {
    late = tempDir("airlock-temp-test-");
    writeFileSync(join(late, "home"), "a process's state");
  });
  afterAll(() => {
    expect(existsSync(late)).toBe(true);
  });
});
