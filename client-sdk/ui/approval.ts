// <airlock-approval>: one approval request with all its evidence, the risk
// tier, and the decisions the host offers. Dispatches `decide`
// ({approvalId, decision}); the host's `approval.resolved` then goes into
// `resolved`. Requests the host reserves for its own terminal show no buttons.
import { BASE_CSS } from "./theme.ts";
import { adoptStyles, formatDuration, h, parseJsonAttr, replace, revealInvisible, str, uid } from "./dom.ts";
import { defineOnce } from "./registry.ts";
import { AirlockDiffElement } from "./diff.ts";
import { parseUnifiedDiff } from "./diff-parse.ts";
import type { ApprovalRequest, ApprovalResolved, DecideDetail, Decision } from "./types.ts";

export const TIERS = {
  steer: { label: "Steer", help: "Guides the agent. Fine to decide from a phone." },
  continue: { label: "Continue", help: "Keeps the current work going: reruns or read-only commands." },
  expand: { label: "Expand", help: "Widens what the agent can reach: packages, network or more files. Check the evidence." },
  commit: { label: "Commit", help: "Hard to undo: push, merge, deploy, secrets or infrastructure." },
} as const;

const TYPE_LABEL = { command: "Run a command", file_change: "Change files", permission: "Grant a permission" } as const;

const DECISION_LABEL: Record<Decision, string> = {
  approve_once: "Approve once",
  approve_session: "Approve for session",
  deny: "Deny",
};

const RESOLVED_LABEL: Record<ApprovalResolved["decision"], string> = {
  approve_once: "Approved once",
  approve_session: "Approved for this session",
  deny: "Denied",
  cancel: "Cancelled",
};

const FLAGS = [
  ["network", "Network"],
  ["credentials", "Credentials"],
  ["externalTools", "External tools"],
  ["writes", "Writes files"],
] as const;

const CHECK_ICON = { passed: "✓", failed: "✗", running: "…", unknown: "?" } as const;
const RESOLVED_ICON = { approve_once: "✓", approve_session: "✓", deny: "✗", cancel: "–" } as const;

const MAX_FILES_SHOWN = 8;
/** Diff lines shown per file before "Show all": enough to judge, short enough to keep the buttons in view. */
const DIFF_PREVIEW_LINES = 6;

// Decision first: tier and the exact action on top, the risky facts as chips,
// the reason, the diff for file changes, then the buttons; everything else is
// one tap away under "Evidence". A decided card folds to one line.
const CSS = `
/* minmax(0, 1fr): a one-line (nowrap) folded summary must not widen the card past the screen. */
.card { border-left: 6px solid var(--tier); display: grid; grid-template-columns: minmax(0, 1fr); gap: var(--_space-2); padding: var(--_space-3) var(--_space-3); }
.tier-steer { --tier: var(--_tier-steer); } .tier-continue { --tier: var(--_tier-continue); }
.tier-expand { --tier: var(--_tier-expand); } .tier-commit { --tier: var(--_tier-commit); }
header { display: flex; align-items: center; gap: var(--_space-2); min-width: 0; }
h3 { margin: 0; font-size: var(--_text-md); line-height: 1.3; flex: 1 1 auto; min-width: 0; overflow-wrap: anywhere; }
.badge { flex: none; display: inline-block; padding: 0.125rem 0.5rem; border-radius: 999px; background: var(--tier); color: var(--_bg);
  font-size: var(--_text-xs); font-weight: 700; letter-spacing: 0.04em; text-transform: uppercase; }
.tier-help { margin: 0; font-size: var(--_text-sm); color: var(--_muted); }
.action { margin: 0; padding: var(--_space-2) var(--_space-3); background: var(--_code-bg); border-radius: 8px; white-space: pre-wrap;
  overflow-wrap: anywhere; max-height: 7.5rem; overflow: auto; font-size: var(--_text-sm); }
.chips { display: flex; flex-wrap: wrap; gap: var(--_space-1); margin: 0; padding: 0; list-style: none; }
.chip { padding: 0.0625rem 0.5rem; border-radius: 999px; border: 1px solid var(--_warning); color: var(--_warning); font-size: var(--_text-xs); font-weight: 700; }
.why { margin: 0; font-size: var(--_text-sm); display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; overflow-wrap: anywhere; }
.why b { color: var(--_muted); font-weight: 600; }
dl { margin: 0; display: grid; grid-template-columns: 6.25rem 1fr; gap: 0.375rem 0.75rem; font-size: var(--_text-sm); }
dt { color: var(--_muted); font-weight: 600; overflow-wrap: break-word; }
dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
ul { margin: 0; padding: 0; list-style: none; }
.flags { display: flex; flex-wrap: wrap; gap: 0.375rem; }
.flag { padding: 0.0625rem 0.5rem; border-radius: 999px; border: 1px solid var(--_border); font-size: var(--_text-xs); }
.flag.on { border-color: var(--_warning); color: var(--_warning); font-weight: 700; }
.check.passed .icon { color: var(--_success); } .check.failed .icon { color: var(--_danger); }
.missing { color: var(--_warning); font-weight: 600; }
.actions { display: grid; grid-template-columns: 1fr 1fr; gap: var(--_space-2); }
.actions button[data-decision="approve_once"]:first-child:nth-last-child(3) { grid-column: 1 / -1; }
.actions button { padding-inline: var(--_space-2); }
.host-only { margin: 0; padding: var(--_space-3); border-radius: 8px; border: 1px dashed var(--_border); background: var(--_surface); font-size: var(--_text-sm); }
.host-only strong { display: block; margin-bottom: 0.25rem; font-size: var(--_text-md); }
.host-only code { display: inline-block; padding: 0.125rem 0.375rem; border-radius: 4px; background: var(--_code-bg); user-select: all; overflow-wrap: anywhere; }
.host-only .cmds { display: grid; gap: var(--_space-1); margin: var(--_space-2) 0; }
.status { margin: 0; font-weight: 600; }
.status:empty { display: none; }
.status.error { color: var(--_danger); }
.resolved-deny, .resolved-cancel, .resolved-expired { color: var(--_danger); }
.resolved-approve_once, .resolved-approve_session { color: var(--_success); }
.rule { margin: 0; font-size: var(--_text-xs); color: var(--_muted); }
.expiry { flex: none; font-size: var(--_text-xs); color: var(--_muted); font-variant-numeric: tabular-nums; }
.expiry.soon { color: var(--_danger); font-weight: 700; }
details.evidence > summary, details.fold > summary { min-height: 44px; display: flex; align-items: center; gap: var(--_space-2); cursor: pointer;
  color: var(--_accent); font-size: var(--_text-sm); font-weight: 600; list-style: none; }
details > summary::-webkit-details-marker { display: none; }
details.evidence > summary::before, details.fold > summary::after { content: "▸"; display: inline-block; transition: transform 0.15s; color: var(--_muted); }
details.evidence[open] > summary::before, details.fold[open] > summary::after { transform: rotate(90deg); }
/* Space between the opened evidence blocks. */
details.evidence > :not(summary) + * { margin-top: var(--_space-2); }
.card.folded { padding: 0 var(--_space-3); border-left-width: 4px; }
details.fold, details.fold > summary { min-width: 0; }
details.fold > summary { color: var(--_fg); font-weight: 400; white-space: nowrap; overflow: hidden; }
details.fold > summary .status { flex: none; }
details.fold > summary code { flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: var(--_muted); }
details.fold > summary .took { flex: none; color: var(--_muted); font-size: var(--_text-xs); }
details.fold[open] { padding-bottom: var(--_space-3); }
details.fold[open] > :not(summary) { margin-top: var(--_space-2); }
@media (max-width: 300px) { dl { grid-template-columns: 1fr; } dt { margin-top: 0.25rem; } }
`;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The one-line title: what will happen, in words ("Run a command?", "Write 2 files (+14 −3)?"). */
export function approvalTitle(req: ApprovalRequest): string {
  if (req.type === "file_change" && typeof req.diff === "string" && req.diff !== "") {
    const files = parseUnifiedDiff(req.diff);
    if (files.length) {
      const add = files.reduce((n, f) => n + f.added, 0);
      const del = files.reduce((n, f) => n + f.removed, 0);
      return `Write ${plural(files.length, "file")} (+${add} −${del})?`;
    }
  }
  return `${TYPE_LABEL[req.type] ?? "Approval"}?`;
}

export class AirlockApprovalElement extends HTMLElement {
  static observedAttributes = ["request", "resolved"];

  #root: ShadowRoot;
  #request: ApprovalRequest | undefined;
  #resolved: ApprovalResolved | undefined;
  #busy = false;
  #error = "";
  #timer: ReturnType<typeof setInterval> | undefined;
  #expiryEl: HTMLElement | undefined;
  #buttons: HTMLButtonElement[] = [];
  #statusEl: HTMLElement | undefined;

  #since: number | undefined;
  #took: number | undefined;

  constructor() {
    super();
    defineOnce("airlock-diff", AirlockDiffElement);
    this.#root = this.attachShadow({ mode: "open" });
    adoptStyles(this.#root, BASE_CSS, CSS);
  }

  /**
   * When this device first showed the request (ms since the epoch); set it for
   * live requests so a folded card can say how long the decision took.
   */
  get since(): number | undefined {
    return this.#since;
  }
  set since(value: number | undefined) {
    this.#since = value;
  }

  /** True once decided or expired: the card is one line. */
  get folded(): boolean {
    return this.#resolved !== undefined || (this.#request !== undefined && this.expired);
  }

  /** The `approval.request` event. */
  get request(): ApprovalRequest | undefined {
    return this.#request;
  }
  set request(value: ApprovalRequest | undefined) {
    this.#request = value;
    this.#busy = false;
    this.#error = "";
    this.#render();
  }

  /** The matching `approval.resolved` event, once the host has one. */
  get resolved(): ApprovalResolved | undefined {
    return this.#resolved;
  }
  set resolved(value: ApprovalResolved | undefined) {
    this.#resolved = value;
    this.#took = value && this.#since !== undefined ? Date.now() - this.#since : undefined;
    this.#busy = false;
    this.#render();
  }

  /** Shows why sending a decision failed and lets the user try again. */
  set error(message: string) {
    this.#error = message;
    this.#busy = false;
    this.#render();
  }
  get error(): string {
    return this.#error;
  }

  attributeChangedCallback(name: string, _old: string | null, value: string | null): void {
    if (name === "request") this.request = parseJsonAttr<ApprovalRequest>(value);
    else if (name === "resolved") this.resolved = parseJsonAttr<ApprovalResolved>(value);
  }

  connectedCallback(): void {
    this.#startTimer();
  }

  disconnectedCallback(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #startTimer(): void {
    if (this.#timer !== undefined || !this.isConnected) return;
    if (this.#request?.expiresAt === undefined || this.#resolved) return;
    this.#timer = setInterval(() => this.#tick(), 1000);
  }

  get expired(): boolean {
    const at = this.#request?.expiresAt;
    return at !== undefined && Date.now() >= at;
  }

  #tick(): void {
    const at = this.#request?.expiresAt;
    if (at === undefined || !this.#expiryEl) return;
    const left = at - Date.now();
    if (left <= 0 || this.#resolved) {
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#timer = undefined;
      this.#render();
      return;
    }
    const s = Math.ceil(left / 1000);
    this.#expiryEl.textContent = `Expires in ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    this.#expiryEl.classList.toggle("soon", s <= 30);
  }

  #decide(decision: Decision): void {
    const req = this.#request;
    if (!req || this.#busy || this.#resolved || this.expired) return;
    this.#busy = true;
    this.#error = "";
    for (const b of this.#buttons) b.disabled = true;
    if (this.#statusEl) this.#statusEl.textContent = `Sending “${DECISION_LABEL[decision]}”…`;
    const detail: DecideDetail = { approvalId: req.approvalId, decision };
    this.dispatchEvent(new CustomEvent("decide", { detail, bubbles: true, composed: true }));
  }

  #render(): void {
    const req = this.#request;
    this.#buttons = [];
    this.#expiryEl = undefined;
    if (!req) {
      replace(this.#root);
      return;
    }
    const tier = TIERS[req.tier] ?? TIERS.expand;
    const ev = req.evidence ?? ({} as ApprovalRequest["evidence"]);
    const titleId = uid("approval-title");
    const resolved = this.#resolved;
    const hostOnly = req.where === "host-only";
    const title = approvalTitle(req);
    const action = h("pre", { class: "action", "aria-label": "Action" }, h("code", null, revealInvisible(str(ev.action))));
    const diff = req.type === "file_change" && typeof req.diff === "string" && req.diff !== "" ? new AirlockDiffElement() : null;
    if (diff) {
      diff.previewLines = DIFF_PREVIEW_LINES;
      diff.diff = req.diff!;
      diff.setAttribute("aria-label", "Changes to approve");
    }
    const evidence = this.#evidence(req, tier);

    if (this.folded) {
      // One line: outcome, who, the action, how long it took. The rest is one tap away.
      const expiredHere = !resolved;
      const outcome = expiredHere ? "expired" : resolved.by === "timeout" ? "expired" : resolved.decision;
      const label = expiredHere
        ? "This request expired"
        : resolved.by === "timeout"
          ? "Expired without a decision"
          : `${RESOLVED_LABEL[resolved.decision] ?? "Resolved"} by ${str(resolved.by)}`;
      const icon = outcome === "expired" ? "⏱" : (RESOLVED_ICON[resolved!.decision] ?? "•");
      const firstLine = str(ev.action).split("\n")[0] ?? "";
      const summary = h(
        "summary",
        { id: titleId },
        h("span", { "aria-hidden": "true" }, icon),
        h("span", { class: `status resolved-${outcome}` }, label),
        h("code", null, revealInvisible(firstLine)),
        this.#took !== undefined ? h("span", { class: "took" }, formatDuration(this.#took)) : null,
      );
      const fold = h(
        "details",
        { class: "fold" },
        summary,
        h("header", null, h("span", { class: "badge" }, tier.label), h("h3", null, title)),
        action,
        resolved?.note ? h("p", { class: "why" }, h("b", null, "Note: "), str(resolved.note)) : null,
        diff,
        ...evidence.body,
      );
      replace(
        this.#root,
        h("article", { class: `card folded tier-${req.tier}`, "aria-labelledby": titleId, "data-state": resolved ? "resolved" : "expired" }, fold),
      );
      return;
    }

    const expiry = req.expiresAt !== undefined ? h("span", { class: "expiry", role: "timer", "aria-live": "off" }) : null;
    this.#expiryEl = expiry ?? undefined;
    const chips = FLAGS.filter(([key]) => ev.flags?.[key] === true);
    const reason = ev.reason
      ? h("p", { class: "why" }, h("b", null, "Why: "), str(ev.reason))
      : h("p", { class: "why missing" }, "The agent gave no reason. If you cannot explain this decision in one sentence, deny it.");

    let controls: Node;
    if (hostOnly) {
      const id = str(req.approvalId);
      // The host says how its CLI runs there (npx, --home); an older host does not, so say what to add.
      const hostCli = req.hostCli ? str(req.hostCli) : "";
      const cli = hostCli || "airlock";
      controls = h(
        "div",
        { class: "host-only", role: "note" },
        h("strong", null, "Needs the host's terminal"),
        "The host's policy does not let a phone decide this. On ",
        h("span", { class: "mono" }, str(ev.host) || "the host"),
        ", run:",
        h("div", { class: "cmds" }, h("code", null, `${cli} approve ${id}`), h("code", null, `${cli} deny ${id}`)),
        ...(hostCli ? [] : ["Add ", h("code", null, "--home DIR"), " if airlock runs there with its own home. "]),
        h("code", null, `${cli} approvals`),
        " lists everything waiting.",
      );
    } else {
      const order: Decision[] = ["approve_once", "approve_session", "deny"];
      this.#buttons = order
        .filter((d) => req.options.includes(d))
        .map((d) => {
          const b = h(
            "button",
            { type: "button", class: d === "deny" ? "danger" : d === "approve_once" ? "primary" : null, "data-decision": d },
            DECISION_LABEL[d],
          );
          b.disabled = this.#busy;
          b.addEventListener("click", () => this.#decide(d));
          return b;
        });
      controls = h("div", { class: "actions", role: "group", "aria-label": "Decision" }, ...this.#buttons);
    }
    const status = h(
      "p",
      { class: this.#error ? "status error" : "status", role: "status" },
      this.#error ? `Could not send: ${this.#error}` : this.#busy ? "Sending…" : "",
    );
    this.#statusEl = status;

    // A thread an automation token started: say which one and whose, since the person deciding did not ask for this.
    const startedBy = req.startedBy
      ? h("p", { class: "why started-by" }, h("b", null, "Started by "), str(req.startedBy), " (an automation token; it cannot decide this)")
      : null;
    const card = h(
      "article",
      { class: `card tier-${req.tier}`, "aria-labelledby": titleId, "data-state": hostOnly ? "host-only" : "pending" },
      h("header", null, h("span", { class: "badge" }, tier.label), h("h3", { id: titleId }, title), expiry),
      startedBy,
      action,
      chips.length ? h("ul", { class: "chips", "aria-label": "Risks" }, ...chips.map(([, label]) => h("li", { class: "chip" }, `⚠ ${label}`))) : null,
      reason,
      diff,
      controls,
      status,
      h("details", { class: "evidence" }, h("summary", null, "Evidence: where, files, checks, policy"), ...evidence.body),
    );
    replace(this.#root, card);
    this.#tick();
    this.#startTimer();
  }

  /** The full evidence, for the "Evidence" disclosure. */
  #evidence(req: ApprovalRequest, tier: (typeof TIERS)[keyof typeof TIERS]): { body: Node[] } {
    const ev = req.evidence ?? ({} as ApprovalRequest["evidence"]);
    const files = Array.isArray(ev.filesChanged) ? ev.filesChanged : [];
    const li = (f: unknown) => h("li", { class: "mono" }, revealInvisible(str(f)));
    const filesList = files.length
      ? files.length > MAX_FILES_SHOWN
        ? h("details", null, h("summary", null, `${files.length} files`), h("ul", null, ...files.map(li)))
        : h("ul", null, ...files.map(li))
      : h("span", { class: "muted" }, "None yet");
    const checks = Array.isArray(ev.checksRun) ? ev.checksRun : [];
    const checksList = checks.length
      ? h(
          "ul",
          null,
          ...checks.map((c) =>
            h(
              "li",
              { class: `check ${str(c.status)}` },
              h("span", { class: "icon", "aria-hidden": "true" }, CHECK_ICON[c.status] ?? "?"),
              " ",
              str(c.name),
              h("span", { class: "muted" }, ` — ${str(c.status)}`),
            ),
          ),
        )
      : h("span", { class: "muted" }, "None");
    const flags = h(
      "ul",
      { class: "flags" },
      ...FLAGS.map(([key, label]) => {
        const on = ev.flags?.[key] === true;
        return h("li", { class: on ? "flag on" : "flag" }, `${label}: ${on ? "yes" : "no"}`);
      }),
    );
    const row = (term: string, ...value: Array<Node | string>) => [h("dt", null, term), h("dd", null, ...value)];
    const reason = ev.reason ? str(ev.reason) : h("span", { class: "missing" }, "None given");
    return {
      body: [
        h("p", { class: "tier-help" }, `${tier.label} tier: ${tier.help}`),
        h(
          "dl",
          null,
          ...row("Why", reason),
          ...row("Host", str(ev.host)),
          ...row("Directory", h("span", { class: "mono" }, revealInvisible(str(ev.cwd)))),
          ...row("Uses", flags),
          ...(ev.sideEffects ? row("Side effects", str(ev.sideEffects)) : []),
          ...row("Files changed so far", filesList),
          ...row("Checks run", checksList),
          ...(ev.next ? row("Then", str(ev.next)) : []),
        ),
        h("p", { class: "rule" }, `Policy rule: ${str(req.rule)}`),
      ],
    };
  }
}
