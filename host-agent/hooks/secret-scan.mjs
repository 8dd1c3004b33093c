#!/usr/bin/env node
// Airlock hook: refuses prompts, commands and file changes that carry
// credentials (the rules below). Configure it for UserPromptSubmit and
// PreToolUse to block before anything leaves the phone or reaches the disk,
// and for PostToolUse to flag (a warning on devices) changes already written
// by an agent that did not ask. Reads the hook input on stdin, answers on
// stdout; see docs/host-agent.md "Hooks".

// The credential formats: the vendors' documented, well-known token shapes
// (the same facts pattern sets such as gitleaks' default rules encode),
// written here as our own rules. Each has a fixed, distinctive prefix or
// header, so ordinary text, hashes and base64 do not match. One file, so the
// hook's hash covers all of it.
/** @type {ReadonlyArray<{ id: string; label: string; re: RegExp }>} */
const SECRET_RULES = [
  { id: "aws-access-key-id", label: "an AWS access key id", re: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b/g },
  { id: "github-token", label: "a GitHub token", re: /\bgh[pousr]_[A-Za-z0-9]{36}\b/g },
  { id: "github-fine-grained-token", label: "a GitHub fine-grained token", re: /\bgithub_pat_[A-Za-z0-9_]{82}\b/g },
  { id: "gitlab-token", label: "a GitLab personal access token", re: /\bglpat-[A-Za-z0-9_-]{20}\b/g },
  { id: "slack-token", label: "a Slack token", re: /\bxox[baprs]-[0-9]{6,}-[0-9A-Za-z-]{8,}/g },
  { id: "slack-webhook", label: "a Slack webhook URL", re: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,}\/B[A-Z0-9]{6,}\/[A-Za-z0-9]{20,}/g },
  { id: "private-key", label: "a private key", re: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----/g },
  { id: "stripe-live-key", label: "a Stripe live secret key", re: /\b[sr]k_live_[0-9A-Za-z]{24,}\b/g },
  { id: "google-api-key", label: "a Google API key", re: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  { id: "openai-api-key", label: "an OpenAI API key", re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}/g },
  { id: "npm-token", label: "an npm access token", re: /\bnpm_[A-Za-z0-9]{36}\b/g },
];

/** Documentation placeholders (AWS's own examples end in EXAMPLE) are not secrets. */
const PLACEHOLDER = /EXAMPLE|XXXXXXXX|x{8,}|0{16,}/;

/**
 * Credentials found in `text`: which rule, on which line, and a redacted
 * preview (never the secret itself: the finding ends up in logs and on phones).
 * @param {string} text
 * @returns {Array<{ rule: string; label: string; line: number; preview: string }>}
 */
function findSecrets(text) {
  const found = [];
  for (const rule of SECRET_RULES) {
    rule.re.lastIndex = 0;
    for (const m of text.matchAll(rule.re)) {
      if (PLACEHOLDER.test(m[0])) continue;
      const line = text.slice(0, m.index).split("\n").length;
      found.push({ rule: rule.id, label: rule.label, line, preview: `${m[0].slice(0, 6)}…` });
      if (found.length >= 20) return found;
    }
  }
  return found;
}

/**
 * The lines a unified diff adds (without the leading "+"): a diff that
 * removes a secret is not one that leaks it.
 * @param {string} diff
 */
function addedLines(diff) {
  return diff
    .split("\n")
    .filter((l) => l.startsWith("+") && !l.startsWith("+++"))
    .map((l) => l.slice(1))
    .join("\n");
}

const MAX_INPUT = 8 * 1024 * 1024;

async function readInput() {
  const chunks = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += chunk.length;
    if (size > MAX_INPUT) throw new Error(`input larger than ${MAX_INPUT} bytes`);
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/** The texts to scan, each with where it came from. */
function texts(input) {
  const out = [];
  if (typeof input.prompt === "string") out.push(["the prompt", input.prompt]);
  const tool = input.tool;
  if (tool && typeof tool === "object") {
    if (typeof tool.command === "string") out.push(["the command", tool.command]);
    for (const f of Array.isArray(tool.files) ? tool.files : []) {
      if (f && typeof f.diff === "string") out.push([`the change to ${String(f.path)}`, addedLines(f.diff)]);
    }
  }
  return out;
}

try {
  const input = await readInput();
  const findings = [];
  for (const [where, text] of texts(input)) for (const f of findSecrets(text)) findings.push(`${f.label} (${f.preview}) in ${where}, line ${f.line}`);
  if (findings.length === 0) process.stdout.write("{}\n");
  else {
    const more = findings.length > 3 ? ` and ${findings.length - 3} more` : "";
    process.stdout.write(JSON.stringify({ decision: "deny", reason: `credential found: ${findings.slice(0, 3).join("; ")}${more}` }) + "\n");
  }
} catch (e) {
  // A scanner that cannot read its input must not say "allow": exit non-zero, the host fails closed.
  process.stderr.write(`secret-scan: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
