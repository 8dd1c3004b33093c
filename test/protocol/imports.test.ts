// Portability of protocol/src: it runs in Workers, browsers and React Native,
// so it must not import Node built-ins; and the relay's header codec must not
// pull in any crypto module.
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../protocol/src/", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs|cjs|tsx)$/.test(e.name) ? [path] : [];
  });
}

/** Every module specifier in a source text: static, type-only, re-export, side-effect and dynamic imports. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\sfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g,
    /\brequire\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split("/")[0]!]));

function isNodeBuiltin(spec: string): boolean {
  return spec.startsWith("node:") || NODE_BUILTINS.has(spec) || NODE_BUILTINS.has(spec.split("/")[0]!);
}

/** Relative imports reachable from `entry` (the entry included), as paths relative to protocol/src. */
function importGraph(entry: string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (path: string) => {
    const rel = relative(SRC, path);
    if (files.has(rel)) return;
    files.add(rel);
    for (const spec of specifiers(readFileSync(path, "utf8"))) {
      if (spec.startsWith(".")) visit(resolve(dirname(path), spec));
      else external.add(spec);
    }
  };
  visit(join(SRC, entry));
  return { files, external };
}

describe("the import scanner", () => {
  it("finds every form of import (so the checks below can fail)", () => {
    const text = [
      'import { readFileSync } from "node:fs";',
      "import {\n  a,\n  b,\n} from 'crypto';",
      'import type { X } from "./x.ts";',
      'export * from "./y.ts";',
      'export { z } from "buffer";',
      'import "path";',
      'const m = await import("os");',
      'const c = require("fs/promises");',
    ].join("\n");
    const found = specifiers(text);
    expect(found.sort()).toEqual(["./x.ts", "./y.ts", "buffer", "crypto", "fs/promises", "node:fs", "os", "path"].sort());
    expect(found.filter(isNodeBuiltin).sort()).toEqual(["buffer", "crypto", "fs/promises", "node:fs", "os", "path"].sort());
    expect(isNodeBuiltin("@noble/hashes/sha2.js")).toBe(false);
    expect(isNodeBuiltin("zod/mini")).toBe(false);
  });

  it("walks relative imports transitively", () => {
    const { files, external } = importGraph("channel.ts");
    expect(files).toContain("hash.ts");
    expect(files).toContain("header.ts");
    expect(files).toContain("padding.ts");
    expect(external).toContain("@noble/hashes/sha2.js");
  });
});

/** protocol/src/node/: the Node-only corner (@airlock/protocol/node, the host agent's backend). */
const NODE_ONLY = join(SRC, "node");

describe("protocol/src portability", () => {
  const files = sourceFiles(SRC).filter((f) => !f.startsWith(NODE_ONLY));

  it("keeps Node-only code in protocol/src/node, which nothing portable imports", () => {
    expect(sourceFiles(NODE_ONLY).map((f) => relative(SRC, f))).toContain(join("node", "backend-node.ts"));
    const reachingIn: string[] = [];
    for (const file of files) {
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        if (spec.startsWith(".") && resolve(dirname(file), spec).startsWith(NODE_ONLY)) reachingIn.push(`${relative(SRC, file)}: ${spec}`);
      }
    }
    expect(reachingIn).toEqual([]);
  });

  it("has source files to check", () => {
    expect(files.length).toBeGreaterThan(10);
    expect(files.map((f) => relative(SRC, f))).toContain("index.ts");
  });

  it("imports no Node built-ins and uses no require()", () => {
    const offenders: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const spec of specifiers(text)) if (isNodeBuiltin(spec)) offenders.push(`${relative(SRC, file)}: ${spec}`);
      if (/\bfrom\s*["']node:/.test(text)) offenders.push(`${relative(SRC, file)}: from "node:…"`);
      if (/\brequire\s*\(/.test(text)) offenders.push(`${relative(SRC, file)}: require(`);
    }
    expect(offenders).toEqual([]);
  });

  it("uses no Node-only globals (Buffer, process, __dirname)", () => {
    const offenders: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const re of [/\bBuffer\s*[.(]/, /\bprocess\s*\./, /\b__dirname\b/, /\b__filename\b/]) {
        if (re.test(text)) offenders.push(`${relative(SRC, file)}: ${re.source}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("depends only on @noble/*", () => {
    const external = new Set<string>();
    for (const file of files) for (const spec of specifiers(readFileSync(file, "utf8"))) if (!spec.startsWith(".")) external.add(spec);
    const unexpected = [...external].filter((s) => !/^@noble\/(hashes|curves|ciphers)\//.test(s));
    expect(unexpected).toEqual([]);
  });

  it("relative imports use explicit .ts extensions and resolve to files", () => {
    const names = new Set(files.map((f) => relative(SRC, f)));
    const bad: string[] = [];
    for (const file of files) {
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        if (!spec.startsWith(".")) continue;
        const target = relative(SRC, resolve(dirname(file), spec));
        if (!spec.endsWith(".ts") || !names.has(target)) bad.push(`${relative(SRC, file)}: ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe("header.ts import graph (what the relay bundles)", () => {
  it("is header.ts, constants.ts, errors.ts and bytes.ts only, with no packages", () => {
    const { files, external } = importGraph("header.ts");
    expect([...files].sort()).toEqual(["bytes.ts", "constants.ts", "errors.ts", "header.ts"]);
    expect([...external]).toEqual([]);
  });

  it("contains no crypto module", () => {
    const { files } = importGraph("header.ts");
    for (const crypto of ["hash.ts", "backend.ts", "backend-noble.ts", "backend-webcrypto.ts", "signatures.ts", "channel.ts", "handshake.ts"]) {
      expect(files.has(crypto), crypto).toBe(false);
    }
    for (const file of files) {
      const text = readFileSync(join(SRC, file), "utf8");
      expect(text, file).not.toMatch(/@noble\//);
      expect(text, file).not.toMatch(/crypto\.subtle|getRandomValues/);
    }
  });
});
