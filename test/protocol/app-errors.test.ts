// The application error table (protocol/src/app-errors.ts): well-formed, and
// complete: every code host-agent/src sends devices is in it, and docs/protocol.md
// lists exactly its codes.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { APP_ERRORS, APP_ERROR_CODES, DEVICE_COMMANDS, ERRORS, appErrorsFor, errorBodySchema, isAppErrorCode } from "../../protocol/src/index.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("APP_ERRORS", () => {
  it("codes are valid error-body codes; commands are device commands", () => {
    expect(APP_ERROR_CODES.length).toBeGreaterThan(10);
    for (const code of APP_ERROR_CODES) {
      expect(errorBodySchema.safeParse({ code, message: "x" }).success, code).toBe(true);
      const { commands, description } = APP_ERRORS[code];
      expect(description.length).toBeGreaterThan(10);
      if (commands !== "*") for (const c of commands) expect(DEVICE_COMMANDS, `${code}: ${c}`).toContain(c);
    }
  });

  it("isAppErrorCode knows exactly the table", () => {
    for (const code of APP_ERROR_CODES) expect(isAppErrorCode(code)).toBe(true);
    for (const x of ["NOPE", "toString", "__proto__", "hasOwnProperty", "", 1, null, undefined]) expect(isAppErrorCode(x), String(x)).toBe(false);
  });

  it("includes the codes the host is adding and answers per command", () => {
    for (const code of ["SEQ_AHEAD", "THREAD_LIMIT", "CWD_INVALID", "MODEL_UNKNOWN", "TURN_NOT_RUNNING", "INTERNAL", "NOT_ALLOWED"])
      expect(APP_ERROR_CODES).toContain(code);
    expect(appErrorsFor("thread.subscribe")).toContain("SEQ_AHEAD");
    expect(appErrorsFor("thread.start")).toEqual(expect.arrayContaining(["THREAD_LIMIT", "MODEL_UNKNOWN", "CWD_INVALID", "NOT_ALLOWED", "AGENT_UNAVAILABLE"]));
    expect(appErrorsFor("turn.steer")).toContain("TURN_NOT_RUNNING");
    expect(appErrorsFor("device.hello")).not.toContain("THREAD_NOT_FOUND");
  });

  it("contains every code host-agent/src gives an AgentError, BrokerError or CommandError, or sends as an error code", () => {
    const found = new Map<string, string>();
    const patterns = [
      /new (?:AgentError|BrokerError|CommandError)\(\s*"([A-Z][A-Z0-9_]*)"/g,
      /\bok: false, code: "([A-Z][A-Z0-9_]*)"/g,
      /sendError\([^)]*?"([A-Z][A-Z0-9_]*)"/g,
    ];
    for (const file of sources(join(ROOT, "host-agent/src"))) {
      const text = readFileSync(file, "utf8");
      for (const re of patterns) for (const m of text.matchAll(re)) found.set(m[1]!, file.slice(ROOT.length));
    }
    expect(found.size, "the scan finds the host's codes").toBeGreaterThan(5);
    const missing = [...found].filter(([code]) => !isAppErrorCode(code)).map(([code, file]) => `${code} (${file})`);
    expect(missing).toEqual([]);
  });

  it("docs/protocol.md §10.5 lists exactly the table's codes", () => {
    const doc = readFileSync(join(ROOT, "docs/protocol.md"), "utf8");
    const section = doc.slice(doc.indexOf("### 10.5"), doc.indexOf("## 11."));
    expect(section.length).toBeGreaterThan(100);
    const listed = [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);
    expect(listed).toEqual(APP_ERROR_CODES);
  });

  it("docs/protocol.md §8 lists exactly the protocol error codes of errors.ts, with their wire codes", () => {
    const doc = readFileSync(join(ROOT, "docs/protocol.md"), "utf8");
    const section = doc.slice(doc.indexOf("## 8. Error codes"), doc.indexOf("## 9."));
    const rows = [...section.matchAll(/^\| 0x([0-9a-f]{2}) \| ([A-Z_]+) \|/gm)].map((m) => [m[2], Number.parseInt(m[1]!, 16)]);
    expect(rows).toEqual(Object.entries(ERRORS).map(([code, { wire }]) => [code, wire]));
  });
});
