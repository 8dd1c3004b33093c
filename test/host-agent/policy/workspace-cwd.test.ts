// A thread's cwd must be an existing folder inside the host's workspace after
// resolving symbolic links (issue 10, item 6): a link in the workspace to
// /etc or to another folder outside is refused, `..` cannot leave it, and a
// missing path is refused, all with CWD_INVALID and without naming resolved
// paths outside the workspace.
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveThreadCwd, WorkspaceError } from "../../../host-agent/src/workspace.ts";

let top: string; // holds the workspace and a folder outside it
let ws: string;
let outside: string;

beforeEach(async () => {
  top = await realpath(await mkdtemp(join(tmpdir(), "airlock-ws-")));
  ws = join(top, "ws");
  outside = join(top, "outside-secret");
  await mkdir(join(ws, "sub", "deeper"), { recursive: true });
  await mkdir(outside);
  await writeFile(join(ws, "file.txt"), "not a folder\n");
});
afterEach(async () => {
  await rm(top, { recursive: true, force: true });
});

async function refusal(requested: string | undefined, workspace = ws): Promise<WorkspaceError> {
  try {
    await resolveThreadCwd(workspace, requested);
  } catch (e) {
    if (e instanceof WorkspaceError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(requested)} to be refused`);
}

describe("resolveThreadCwd", () => {
  it("accepts the workspace and folders inside it, answering real paths", async () => {
    expect(await resolveThreadCwd(ws, undefined)).toBe(ws);
    expect(await resolveThreadCwd(ws, "")).toBe(ws);
    expect(await resolveThreadCwd(ws, ".")).toBe(ws);
    expect(await resolveThreadCwd(ws, "sub")).toBe(join(ws, "sub"));
    expect(await resolveThreadCwd(ws, "sub/deeper/")).toBe(join(ws, "sub", "deeper"));
    expect(await resolveThreadCwd(ws, "sub/../sub/deeper/..")).toBe(join(ws, "sub"));
    expect(await resolveThreadCwd(ws, join(ws, "sub"))).toBe(join(ws, "sub"));
    // A folder whose name starts with ".." is still inside.
    await mkdir(join(ws, "..dots"));
    expect(await resolveThreadCwd(ws, "..dots")).toBe(join(ws, "..dots"));
  });

  it("accepts a symbolic link that stays inside the workspace, answering its target", async () => {
    await symlink(join(ws, "sub", "deeper"), join(ws, "shortcut"));
    expect(await resolveThreadCwd(ws, "shortcut")).toBe(join(ws, "sub", "deeper"));
  });

  it("resolves a workspace given through a symbolic link", async () => {
    const link = join(top, "ws-link");
    await symlink(ws, link);
    expect(await resolveThreadCwd(link, "sub")).toBe(join(ws, "sub"));
    expect(await resolveThreadCwd(link, join(link, "sub"))).toBe(join(ws, "sub"));
    expect(await resolveThreadCwd(link, undefined)).toBe(ws);
  });

  it("refuses a symbolic link in the workspace that points at /etc", async () => {
    await symlink("/etc", join(ws, "etc"));
    const e = await refusal("etc");
    expect(e.code).toBe("CWD_INVALID");
    expect(e.name).toBe("WorkspaceError");
    expect(e.message).toBe('cwd "etc" is not an existing folder inside the host\'s workspace (symbolic links may not lead out of it)');
    expect((await refusal("etc/ssl")).code).toBe("CWD_INVALID");
  });

  it("refuses a symbolic link to a folder outside, without naming where it leads", async () => {
    await symlink(outside, join(ws, "sub", "escape"));
    await symlink("../../outside-secret", join(ws, "relative-escape"));
    for (const requested of ["sub/escape", "relative-escape", join(ws, "sub", "escape")]) {
      const e = await refusal(requested);
      expect(e.code).toBe("CWD_INVALID");
      // Only the requested string is named: no resolved path.
      const rest = e.message.replace(JSON.stringify(requested), "");
      expect(rest).not.toContain("outside-secret");
      expect(rest).not.toContain("/");
    }
    // The same answer whether a link's target exists or not: nothing is learnt about the outside.
    await symlink(join(outside, "missing"), join(ws, "dangling"));
    expect((await refusal("dangling")).message).toBe((await refusal("relative-escape")).message.replace("relative-escape", "dangling"));
  });

  it("refuses .. escapes and absolute paths outside", async () => {
    for (const requested of ["..", "../", "../outside-secret", "sub/../../outside-secret", "sub/deeper/../../..", "/etc", outside, top]) {
      const e = await refusal(requested);
      expect(e.code).toBe("CWD_INVALID");
      expect(e.message).toBe(`cwd ${JSON.stringify(requested)} is outside the host's workspace`);
    }
  });

  it("refuses a missing path, a file and a NUL byte", async () => {
    for (const requested of ["nope", "sub/nope", "file.txt", "sub\u0000x"]) expect((await refusal(requested)).code).toBe("CWD_INVALID");
    expect((await refusal("nope")).message).toContain('cwd "nope" is not an existing folder');
    expect((await refusal("sub\u0000x")).message).toBe('cwd "sub\\u0000x" is not a valid path');
  });

  it("escapes and bounds the requested string in the message", async () => {
    const e = await refusal(`\u202e\n${"x".repeat(500)}`);
    expect(e.message.length).toBeLessThan(400);
    expect(e.message).not.toMatch(/[\u202e\n]/);
    expect(e.message).toContain('cwd "\\u202e\\n' + "x".repeat(198) + '\\u2026"');
  });

  it("refuses every cwd when the workspace itself is gone", async () => {
    const e = await refusal("sub", join(top, "no-such-workspace"));
    expect(e.code).toBe("CWD_INVALID");
    expect(e.message).toBe("the host's workspace folder is not available");
  });
});
