// Portability of the client SDK core: everything reachable from its browser
// entry (client-sdk/src/index.ts) and its React Native entry (native.ts)
// imports no Node built-ins and uses no Node-only globals; only src/node/ may.
// It depends on @airlock/protocol only, and the native entry never reaches the
// WebCrypto backend.
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../client-sdk/src/", import.meta.url));
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split("/")[0]!]));
const isNodeBuiltin = (spec: string) => spec.startsWith("node:") || NODE_BUILTINS.has(spec) || NODE_BUILTINS.has(spec.split("/")[0]!);

function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const re of [
    /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\sfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g,
    /\brequire\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g,
  ]) {
    for (const m of text.matchAll(re)) out.push(m[1]!);
  }
  return out;
}

function graph(entry: string): { files: Set<string>; external: Set<string> } {
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

for (const entry of ["index.ts", "native.ts"]) {
  describe(`client SDK core portability (${entry})`, () => {
    const { files, external } = graph(entry);

    it("reaches the core modules and none under node/", () => {
      expect(files).toContain("host-connection.ts");
      if (entry === "index.ts") expect(files).toContain("indexeddb-store.ts");
      expect([...files].filter((f) => f.startsWith("node/"))).toEqual([]);
    });

    it("imports no Node built-ins and uses no Node-only globals", () => {
      const offenders: string[] = [];
      for (const spec of external) if (isNodeBuiltin(spec)) offenders.push(spec);
      for (const file of files) {
        const text = readFileSync(join(SRC, file), "utf8");
        for (const re of [/\bBuffer\s*[.(]/, /\bprocess\s*\./, /\b__dirname\b/, /\brequire\s*\(/]) if (re.test(text)) offenders.push(`${file}: ${re.source}`);
      }
      expect(offenders).toEqual([]);
    });

    it("depends on @airlock/protocol only", () => {
      expect([...external].filter((s) => !s.startsWith("@airlock/protocol"))).toEqual([]);
    });
  });
}

describe("client SDK entries", () => {
  it("the native entry wires noble statically and never reaches WebCrypto", () => {
    const { files, external } = graph("native.ts");
    expect(external).toContain("@airlock/protocol/noble");
    expect(external).not.toContain("@airlock/protocol/webcrypto");
    expect(files).not.toContain("crypto.ts");
    expect(files).not.toContain("client-web.ts");
  });

  it("the node entry is where Node modules live", () => {
    const node = graph("node/index.ts");
    expect([...node.external].some(isNodeBuiltin) || [...node.external].includes("ws")).toBe(true);
  });
});

describe("the reference web app", () => {
  it("uses the SDK and protocol through their package exports, never by a path into their sources", async () => {
    const { readdirSync } = await import("node:fs");
    const WEB = fileURLToPath(new URL("../../web/src/", import.meta.url));
    const sources = readdirSync(WEB, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    expect(sources.length).toBeGreaterThan(5);
    const intoSources = sources.flatMap((f) =>
      specifiers(readFileSync(join(WEB, f), "utf8"))
        .filter(
          (spec) => spec.startsWith(".") && /(^|\/)(client-sdk|protocol)\//.test(relative(WEB, resolve(dirname(join(WEB, f)), spec)).replace(/^(\.\.\/)+/, "")),
        )
        .map((spec) => `${f}: ${spec}`),
    );
    expect(intoSources).toEqual([]);
    // The check can fail: a path into the SDK's sources is caught.
    expect(specifiers('import { h } from "../../client-sdk/ui/dom.ts";').some((spec) => /(^|\/)client-sdk\//.test(spec))).toBe(true);
  });
});
