// Every temporary folder a test run makes (mkdtemp in tests, the relays'
// state, Chromium profiles, the homes and workspaces of child `airlock`
// processes, which inherit the variable) goes into one folder per run, removed
// when the run ends, so no test leaves a temporary folder behind even when it
// fails or forgets. Vitest runs this in the main process before it forks the
// workers, which inherit TMPDIR.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const run = mkdtempSync(join(tmpdir(), "airlock-test-run-"));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = run;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(run, { recursive: true, force: true });
  };
}
