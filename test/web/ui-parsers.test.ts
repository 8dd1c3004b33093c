// The components' pure parsers in Node: ANSI (strict SGR, split sequences,
// dropped controls), unified diffs (line numbers, look-alike headers), the
// syntax tokenizer, image checks and the pairing-link scrub.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AnsiParser, cssColor, parseSgr, stripAnsi } from "../../client-sdk/ui/ansi.ts";
import { parseUnifiedDiff } from "../../client-sdk/ui/diff-parse.ts";
import { highlightLine, languageFor } from "../../client-sdk/ui/highlight.ts";
import { ImageAssembler } from "../../client-sdk/ui/image.ts";
import { extractLink, isPairingFragment } from "../../web/src/link.ts";
import { DIFF, png } from "./fixtures.ts";

describe("ANSI", () => {
  it("parses 16, 256 and truecolor SGR, and resets", () => {
    expect(parseSgr("1;31", {})).toEqual({ bold: true, fg: { palette: 1 } });
    expect(parseSgr("38;5;208;48;2;1;2;3", {})).toEqual({ fg: { palette: 208 }, bg: { rgb: [1, 2, 3] } });
    expect(parseSgr("38:2::10:20:30", {})).toEqual({ fg: { rgb: [10, 20, 30] } });
    expect(parseSgr("", { bold: true })).toEqual({});
    expect(parseSgr("22;39", { bold: true, fg: { palette: 2 } })).toEqual({});
    expect(cssColor({ palette: 196 })).toBe("rgb(255, 0, 0)");
    expect(cssColor({ palette: 244 })).toBe("rgb(128, 128, 128)");
  });

  it("ignores a malformed SGR entirely", () => {
    for (const bad of ["38;2;256;0;0", "38;5", "38;5;x", "38;2;1;2", "1:2", "9999"]) expect(parseSgr(bad, { bold: true })).toBeUndefined();
    const p = new AnsiParser();
    expect(p.feed("\x1b[1m\x1b[38;2;999;0;0mX")).toEqual([{ type: "text", text: "X", style: { bold: true } }]);
  });

  it("completes sequences split across chunks and handles CR LF across chunks", () => {
    const p = new AnsiParser();
    const out = [..."\x1b[3", "1mred\r", "\nnext\rover"].flatMap((c) => p.feed(c));
    expect(out).toEqual([
      { type: "text", text: "red", style: { fg: { palette: 1 } } },
      { type: "newline" },
      { type: "text", text: "next", style: { fg: { palette: 1 } } },
      { type: "cr" },
      { type: "text", text: "over", style: { fg: { palette: 1 } } },
    ]);
  });

  it("drops OSC, DCS, cursor movement, private modes and C0/C1 controls", () => {
    expect(stripAnsi("a\x1b]0;title\x07b\x1b]8;;http://x\x1b\\c\x1bP1$q\x1b\\d\x1b[2J\x1b[?25le\x07\x08f\x9b31mg\x1b7h")).toBe("abcdefgh");
  });

  it("never throws and never emits control characters, whatever the input", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom("\x1b", "[", "]", ";", ":", "3", "8", "m", "5", "2", "\x07", "\\", "a", "\r", "\n", "\x9b") }), {
          maxLength: 8,
        }),
        (chunks) => {
          const p = new AnsiParser();
          // eslint-disable-next-line no-control-regex -- asserts no control character got through
          for (const c of chunks) for (const t of p.feed(c)) if (t.type === "text") expect(t.text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
        },
      ),
    );
  });

  it("caps absurdly long sequences", () => {
    expect(stripAnsi(`\x1b[${"1;".repeat(200)}mX`)).toBe("X");
    expect(stripAnsi(`\x1b]${"x".repeat(10_000)}Y`)).toContain("Y");
  });
});

describe("unified diff", () => {
  it("numbers lines and is not fooled by removed lines that look like headers", () => {
    const files = parseUnifiedDiff(DIFF);
    expect(files.map((f) => [f.path, f.added, f.removed])).toEqual([
      ["src/parser.ts", 3, 2],
      ["README.md", 1, 1],
    ]);
    const last = files[0]!.hunks[1]!.lines;
    expect(last.map((l) => [l.type, l.oldNo, l.newNo])).toEqual([
      ["ctx", 20, 21],
      ["del", 21, undefined],
      ["add", undefined, 22],
    ]);
    expect(files[1]!.hunks[0]!.lines.at(-1)).toEqual({ type: "note", text: "No newline at end of file" });
  });

  it("uses the fallback path for a bare hunk, and reads new, deleted and renamed files", () => {
    expect(parseUnifiedDiff("@@ -0,0 +1 @@\n+hi\n", "notes/a.md")[0]).toMatchObject({ path: "notes/a.md", added: 1 });
    expect(parseUnifiedDiff("--- /dev/null\n+++ b/new.ts\n@@ -0,0 +1 @@\n+x\n")[0]!.path).toBe("new.ts");
    expect(parseUnifiedDiff("--- a/old.ts\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n")[0]!.path).toBe("old.ts");
    expect(parseUnifiedDiff("diff --git a/x.ts b/y.ts\nsimilarity index 100%\nrename from x.ts\nrename to y.ts\n")[0]).toMatchObject({
      path: "y.ts",
      oldPath: "x.ts",
    });
    expect(parseUnifiedDiff("")).toEqual([]);
  });
});

describe("syntax tokenizer", () => {
  it("classifies keywords, strings, comments and numbers; carries block comments", () => {
    const state = { inBlock: false };
    expect(highlightLine(`const s = "a\\"b"; // c`, "js", state).map((t) => t.type)).toEqual(["keyword", "plain", "string", "plain", "comment"]);
    expect(highlightLine("x = 1 /* open", "js", state).at(-1)).toEqual({ type: "comment", text: "/* open" });
    expect(highlightLine("still */ return 2", "js", state).map((t) => t.type)).toEqual(["comment", "plain", "keyword", "plain", "number"]);
    expect(highlightLine("def f(): # hi", "py").map((t) => t.type)).toEqual(["keyword", "plain", "comment"]);
    expect(languageFor("src/a.test.TS")).toBe("js");
    expect(languageFor("README.md")).toBeUndefined();
    expect(highlightLine("x".repeat(3000), "js")).toHaveLength(1);
  });
});

describe("images", () => {
  it("reassembles chunks in any order and checks the bytes against the type", () => {
    const data = png(4, 4);
    const asm = new ImageAssembler("image/png", 2);
    asm.add(1, data.slice(8));
    asm.add(0, data.slice(0, 8));
    expect(asm.bytes().length).toBeGreaterThan(30);
    expect(() => new ImageAssembler("image/svg+xml", 1)).toThrow(/not allowed/);
    const fake = new ImageAssembler("image/jpeg", 1);
    fake.add(0, data);
    expect(() => fake.bytes()).toThrow(/not a image\/jpeg/);
    expect(() => new ImageAssembler("image/png", 1).add(0, "<svg>")).toThrow(/base64/);
    expect(() => new ImageAssembler("image/png", 1).add(1, "")).toThrow(/range/);
  });
});

describe("pairing link in the app", () => {
  it("recognises link fragments and finds a link inside pasted text", () => {
    expect(isPairingFragment("#v=1&relay=https%3A%2F%2Fr.example")).toBe(true);
    expect(isPairingFragment("#host=x")).toBe(false);
    expect(extractLink("  scan: https://r.example/#v=1&relay=x&room=y \n")).toBe("https://r.example/#v=1&relay=x&room=y");
    expect(extractLink("https://r.example/")).toBeUndefined();
  });
});
