// Thread events for the component tests, including hostile ones: everything
// here reaches the page as data a host (or a compromised agent) controls.
import { crc32, deflateSync } from "node:zlib";
import type { ThreadEvent } from "../../protocol/src/app-protocol.ts";

type Approval = Extract<ThreadEvent, { kind: "approval.request" }>;

export const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;

export function approval(over: Partial<Approval> & { tier: Approval["tier"] }): Approval {
  return {
    kind: "approval.request",
    approvalId: `ap-${over.tier}-${over.where ?? "any"}`,
    type: "command",
    rule: "demo/table",
    where: "any-device",
    options: ["approve_once", "approve_session", "deny"],
    evidence: {
      action: "npm test -- --run test/parser.test.ts",
      reason: "Rerun the focused test after fixing the tokenizer.",
      host: "devbox",
      cwd: "/home/dev/project",
      filesChanged: ["src/parser.ts", "test/parser.test.ts"],
      checksRun: [
        { name: "tsc --noEmit", status: "passed" },
        { name: "vitest parser", status: "failed" },
      ],
      sideEffects: "None outside the working directory.",
      flags: { network: false, credentials: false, externalTools: false, writes: false },
      next: "Commit the fix if the test passes.",
    },
    ...over,
  };
}

export const APPROVALS: Approval[] = [
  approval({
    tier: "steer",
    approvalId: "ap-steer",
    options: ["approve_once", "deny"],
    evidence: { ...approval({ tier: "steer" }).evidence, action: "Use approach B (keep the old API)" },
  }),
  approval({ tier: "continue", approvalId: "ap-continue" }),
  approval({
    tier: "expand",
    approvalId: "ap-expand",
    expiresAt: Date.now() + 5 * 60_000,
    evidence: {
      ...approval({ tier: "expand" }).evidence,
      action: "npm install left-pad@1.3.0",
      reason: "The formatter needs padding helpers.",
      flags: { network: true, credentials: false, externalTools: true, writes: true },
      sideEffects: "Adds a dependency and changes package-lock.json.",
    },
  }),
  approval({
    tier: "commit",
    approvalId: "ap-commit",
    options: ["approve_once", "deny"],
    evidence: {
      ...approval({ tier: "commit" }).evidence,
      action: "git push origin main",
      flags: { network: true, credentials: true, externalTools: false, writes: true },
    },
  }),
  approval({
    tier: "commit",
    approvalId: "ap-hostonly",
    where: "host-only",
    evidence: { ...approval({ tier: "commit" }).evidence, action: "wrangler deploy --env production" },
  }),
  approval({
    tier: "expand",
    approvalId: "ap-hostile",
    evidence: {
      ...approval({ tier: "expand" }).evidence,
      action: `rm -rf / ${HOSTILE} \u202Eevil\u202C`,
      reason: undefined as unknown as string,
      host: HOSTILE,
      filesChanged: [HOSTILE],
      checksRun: [{ name: HOSTILE, status: "unknown" }],
    },
  }),
];
// A reason that is absent must be shown as absent.
delete (APPROVALS[5]!.evidence as { reason?: string }).reason;

export const DIFF = `diff --git a/src/parser.ts b/src/parser.ts
index 1111111..2222222 100644
--- a/src/parser.ts
+++ b/src/parser.ts
@@ -1,6 +1,7 @@
 // Tokenizer for the config language.
-export function parse(input: string) {
+export function parse(input: string): Token[] {
   const out = [];
+  /* skip the BOM */
   for (const ch of input) {
     if (ch === "#") break;
     out.push(ch);
@@ -20,3 +21,3 @@ export function tokens() {
   return 42;
--- this removed line starts with dashes
+++ and this added one with pluses
diff --git a/README.md b/README.md
--- a/README.md
+++ b/README.md
@@ -1 +1 @@
-Old ${HOSTILE}
+New title
\\ No newline at end of file
`;

export const ANSI = [
  "\x1b[1mBold\x1b[22m \x1b[31mred\x1b[0m \x1b[92mbright green\x1b[0m",
  "\x1b[38;5;208morange-256\x1b[0m \x1b[38;2;10;200;30mtruecolor\x1b[0m \x1b[48;5;21mblue-bg\x1b[0m",
  // Malformed SGR must change nothing; other sequences must vanish.
  "\x1b[38;2;999;0;0mnot-red\x1b[0m \x1b[38;5mbroken\x1b[0m \x1b]0;window title\x07\x1b[2J\x1b[H\x1b[?25l",
  `\x1b]8;;javascript:alert(1)\x07link\x1b]8;;\x07 ${HOSTILE}`,
  "progress 10%\rprogress 100%",
  "",
].join("\n");

/** A real PNG (a w×h gradient), as base64. */
export function png(w = 48, h = 32): string {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 255) / w;
      raw[o + 1] = (y * 255) / h;
      raw[o + 2] = 160;
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]).toString("base64");
}

export function threadEvents(): ThreadEvent[] {
  const img = png();
  const half = Math.ceil(img.length / 8) * 4; // split on a 4-char boundary
  return [
    { kind: "message.user", itemId: "u1", text: "Fix the parser test, then push.", device: "Pixel 8" },
    { kind: "turn.status", turnId: "t1", status: "started" },
    {
      kind: "plan.update",
      steps: [
        { text: "Reproduce", status: "completed" },
        { text: "Fix tokenizer", status: "in_progress" },
        { text: "Push", status: "pending" },
      ],
    },
    { kind: "message.delta", itemId: "m1", text: "Looking at " },
    { kind: "message.delta", itemId: "m1", text: "the parser… " },
    { kind: "message.delta", itemId: "m1", text: HOSTILE },
    { kind: "command.started", itemId: "c1", command: "npm test", cwd: "/home/dev/project" },
    { kind: "command.output", itemId: "c1", stream: "stdout", chunk: "\x1b[32m✓\x1b[0m parser.test.ts (3 tests)\n" },
    { kind: "command.output", itemId: "c1", stream: "stderr", chunk: "\x1b[31mwarning\x1b[0m: deprecated API\n" },
    { kind: "command.finished", itemId: "c1", exitCode: 1, durationMs: 2345 },
    { kind: "file.change", itemId: "f1", path: "src/parser.ts", change: "modify", diff: "@@ -1,2 +1,2 @@\n-const a = 1;\n+const a = 2;\n // done\n" },
    { kind: "test.result", itemId: "tr1", name: "parser handles comments", status: "passed" },
    { kind: "test.result", itemId: "tr2", name: "parser handles BOM", status: "failed", summary: "expected 0 to be 1" },
    { kind: "image", itemId: "i1", mime: "image/png", chunk: 0, chunks: 2, data: img.slice(0, half) },
    { kind: "image", itemId: "i1", mime: "image/png", chunk: 1, chunks: 2, data: img.slice(half) },
    // Declared PNG, but the bytes are not: must not be shown.
    { kind: "image", itemId: "i2", mime: "image/png", chunk: 0, chunks: 1, data: Buffer.from("<svg onload=alert(1)>").toString("base64") },
    // Not an allowed type at all (a hostile host can send anything).
    { kind: "image", itemId: "i3", mime: "image/svg+xml" as "image/png", chunk: 0, chunks: 1, data: Buffer.from("<svg/>").toString("base64") },
    { ...APPROVALS[1]!, approvalId: "ap-thread" },
    { kind: "approval.resolved", approvalId: "ap-thread", decision: "approve_once", by: "Pixel 8" },
    { ...APPROVALS[2]!, approvalId: "ap-thread-2" },
    {
      kind: "question",
      questionId: "q1",
      text: "Keep the old API?",
      options: [
        { id: "yes", label: "Yes, keep it" },
        { id: "no", label: "No, break it" },
      ],
    },
    { kind: "message.completed", itemId: "m1", text: `Looking at the parser… done. ${HOSTILE}` },
    { kind: "usage", inputTokens: 12345, outputTokens: 678 },
    { kind: "notice", level: "warning", text: "Host is low on disk space" },
    { kind: "settings", model: "gpt-5-codex", effort: "high" },
  ];
}
