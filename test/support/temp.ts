// Temporary folders for tests: `tempDir(prefix)` makes a folder under the
// system temp folder and removes it after the test file. Importing this module
// installs one afterAll per test file (vitest isolates files, so each file
// evaluates it anew); vitest runs after-hooks in reverse order ("stack"), so
// this one, registered at import time, runs after the file's own afterAll
// hooks: processes the file started in a temp home are stopped before the
// folder goes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const made = new Set<string>();

/** A fresh folder `<tmp>/<prefix>XXXXXX`, removed after the current test file. */
export function tempDir(prefix = "airlock-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Removes every folder tempDir made so far (the afterAll below; exported for its own test). */
export function removeTempDirs(): void {
  for (const dir of made) {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    made.delete(dir);
  }
}

afterAll(removeTempDirs);
