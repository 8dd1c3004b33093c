// The relay's layers (issue 17 item 5): imports go one way, src/ (the Worker)
// → durable-objects/ (its Durable Objects and the settings and room paths both
// read) → protocol/. Nothing under durable-objects/ imports from src/, and
// neither folder imports host or client code (host-agent/, client-sdk/, web/,
// by relative path or by package name): the relay runs none of it.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { promisify } from "node:util";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;
const RELAY = ["src/", "durable-objects/"];
/** Folders (resolved relative imports) and package names the relay never imports. */
const NEVER = ["host-agent", "client-sdk", "web", "@airlock/host-agent", "@airlock/client-sdk"];

/** "file: specifier" for every import of a relay file that crosses a layer it must not. */
export function layerViolations(files: string[], read: (f: string) => string): string[] {
  const found: string[] = [];
  for (const file of files) {
    // Static, type-only, re-export, side-effect and dynamic imports alike; comments and strings are skipped.
    for (const { fileName: spec } of ts.preProcessFile(read(file), true, true).importedFiles) {
      const target = spec.startsWith(".") ? normalize(join(dirname(file), spec)) : spec;
      const up = file.startsWith("durable-objects/") && target.startsWith("src/");
      const out = NEVER.some((p) => target === p || target.startsWith(`${p}/`));
      if (up || out) found.push(`${file}: ${spec}`);
    }
  }
  return found;
}

describe("relay layers", () => {
  it("finds an import against the layering when there is one (the check can fail)", () => {
    const files: Record<string, string> = {
      "src/index.ts": 'import { Room } from "../durable-objects/room.ts";\nimport { x } from "@airlock/protocol";',
      "src/bad.ts": 'import type { HostCore } from "../host-agent/src/host-core.ts";\nexport * from "@airlock/client-sdk/push";',
      "durable-objects/room.ts": 'import { limitsFrom } from "./config.ts";\nimport {\n  Env,\n} from "../src/config.ts";',
      "durable-objects/lazy.ts": 'const ui = await import("../web/src/app.ts");\n// import "../src/index.ts" in a comment is no import',
    };
    expect(layerViolations(Object.keys(files), (f) => files[f]!)).toEqual([
      "src/bad.ts: ../host-agent/src/host-core.ts",
      "src/bad.ts: @airlock/client-sdk/push",
      "durable-objects/room.ts: ../src/config.ts",
      "durable-objects/lazy.ts: ../web/src/app.ts",
    ]);
  });

  it("the relay's files keep them", async () => {
    const { stdout } = await promisify(execFile)("git", ["ls-files", "--cached", "--others", "--exclude-standard", "--", ...RELAY], { cwd: ROOT });
    const files = stdout.split("\n").filter((f) => /\.(ts|mjs|js)$/.test(f) && existsSync(join(ROOT, f)));
    expect(files).toContain("src/index.ts");
    expect(files).toContain("durable-objects/room.ts");
    expect(layerViolations(files, (f) => readFileSync(join(ROOT, f), "utf8"))).toEqual([]);
  });
});
