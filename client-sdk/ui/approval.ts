// <airlock-approval>: one approval request with all its evidence, the risk
// tier, and the decisions the host offers. Dispatches `decide`
// ({approvalId, decision}); the host's `approval.resolved` then goes into
// `resolved`. Requests the host reserves for its own terminal show no buttons.
import { BASE_CSS } from "./theme.ts";
import { adoptStyles, h, parseJsonAttr, replace, revealInvisible, str, uid } from "./dom.ts";
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

const MAX_FILES_SHOWN = 8;

const CSS = `
.card { border-left: 6px solid var(--tier); display: grid; gap: 0.625rem; }
.tier-steer { --tier: var(--_tier-steer); } .tier-continue { --tier: var(--_tier-continue); }
.tier-expand { --tier: var(--_tier-expand); } .tier-commit { --tier: var(--_tier-commit); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; }
h3 { margin: 0; font-size: 1.0625rem; flex: 1 1 auto; }
.badge { display: inline-block; padding: 0.125rem 0.5rem; border-radius: 999px; background: var(--tier); color: var(--_bg);
  font-size: 0.8125rem; font-weight: 700; letter-spacing: 0.02em; text-transform: uppercase; }
.tier-help { margin: 0; font-size: 0.875rem; color: var(--_muted); }
.action { margin: 0; padding: 0.625rem 0.75rem; background: var(--_code-bg); border-radius: 8px; white-space: pre-wrap;
  overflow-wrap: anywhere; max-height: 14rem; overflow: auto; }
dl { margin: 0; display: grid; grid-template-columns: 6.25rem 1fr; gap: 0.375rem 0.75rem; font-size: 0.9375rem; }
dt { color: var(--_muted); font-weight: 600; font-size: 0.875rem; overflow-wrap: break-word; }
dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
ul { margin: 0; padding: 0; list-style: none; }
.flags { display: flex; flex-wrap: wrap; gap: 0.375rem; }
.flag { padding: 0.0625rem 0.5rem; border-radius: 999px; border: 1px solid var(--_border); font-size: 0.8125rem; }
.flag.on { border-color: var(--_warning); color: var(--_warning); font-weight: 700; }
.check.passed .icon { color: var(--_success); } .check.failed .icon { color: var(--_danger); }
.missing { color: var(--_warning); font-weight: 600; }
.actions { display: flex; flex-wrap: wrap; gap: 0.5rem; }
.actions button { flex: 1 1 9rem; }
.host-only { margin: 0; padding: 0.75rem; border-radius: 8px; border: 1px dashed var(--_border); background: var(--_surface); }
.host-only strong { display: block; margin-bottom: 0.25rem; }
.status { margin: 0; font-weight: 600; min-height: 1.2em; }
.status:empty { display: none; }
.status.error { color: var(--_danger); }
.resolved-deny, .resolved-cancel { color: var(--_danger); }
.resolved-approve_once, .resolved-approve_session { color: var(--_success); }
.rule, .expiry { font-size: 0.8125rem; color: var(--_muted); }
.expiry.soon { color: var(--_danger); font-weight: 700; }
@media (max-width: 300px) { dl { grid-template-columns: 1fr; } dt { margin-top: 0.25rem; } }
`;

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

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: "open" });
    adoptStyles(this.#root, BASE_CSS, CSS);
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
    const ev = req.evidence;
    const titleId = uid("approval-title");
    const resolved = this.#resolved;
    const hostOnly = req.where === "host-only";

    const expiry = req.expiresAt !== undefined && !resolved ? h("span", { class: "expiry", role: "timer", "aria-live": "off" }) : null;
    this.#expiryEl = expiry ?? undefined;

    const files = ev.filesChanged ?? [];
    const filesList = files.length
      ? files.length > MAX_FILES_SHOWN
        ? h("details", null, h("summary", null, `${files.length} files`), h("ul", null, ...files.map((f) => h("li", { class: "mono" }, revealInvisible(str(f))))))
        : h("ul", null, ...files.map((f) => h("li", { class: "mono" }, revealInvisible(str(f)))))
      : h("span", { class: "muted" }, "None yet");
    const checks = ev.checksRun ?? [];
    const checksList = checks.length
      ? h(
          "ul",
          null,
          ...checks.map((c) =>
            h("li", { class: `check ${str(c.status)}` }, h("span", { class: "icon", "aria-hidden": "true" }, CHECK_ICON[c.status] ?? "?"), " ", str(c.name), h("span", { class: "muted" }, ` — ${str(c.status)}`)),
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
    const reason = ev.reason
      ? str(ev.reason)
      : h("span", { class: "missing" }, "The agent gave no reason. If you cannot explain this decision in one sentence, deny it.");

    let controls: Node;
    if (resolved) {
      const who = str(resolved.by);
      const label = resolved.by === "timeout" ? "Expired without a decision" : `${RESOLVED_LABEL[resolved.decision] ?? "Resolved"} by ${who}`;
      controls = h("p", { class: `status resolved-${resolved.decision}` }, label, resolved.note ? h("span", { class: "muted" }, ` — ${str(resolved.note)}`) : null);
    } else if (hostOnly) {
      controls = h(
        "p",
        { class: "host-only", role: "note" },
        h("strong", null, "Needs the host's terminal"),
        "The host's policy does not allow deciding this from a device. At ",
        h("span", { class: "mono" }, str(ev.host)),
        ", run ",
        h("code", null, "airlock approvals"),
        " to approve or deny it.",
      );
    } else if (this.expired) {
      controls = h("p", { class: "status error" }, "This request expired.");
    } else {
      const order: Decision[] = ["approve_once", "approve_session", "deny"];
      this.#buttons = order
        .filter((d) => req.options.includes(d))
        .map((d) => {
          const b = h("button", { type: "button", class: d === "deny" ? "danger" : d === "approve_once" ? "primary" : null, "data-decision": d }, DECISION_LABEL[d]);
          b.disabled = this.#busy;
          b.addEventListener("click", () => this.#decide(d));
          return b;
        });
      controls = h("div", { class: "actions", role: "group", "aria-label": "Decision" }, ...this.#buttons);
    }
    const status = h("p", { class: this.#error ? "status error" : "status", role: "status" }, this.#error ? `Could not send: ${this.#error}` : this.#busy ? "Sending…" : "");
    this.#statusEl = status;

    const card = h(
      "article",
      { class: `card tier-${req.tier}`, "aria-labelledby": titleId, "data-state": resolved ? "resolved" : hostOnly ? "host-only" : "pending" },
      h("header", null, h("span", { class: "badge" }, tier.label), h("h3", { id: titleId }, `${TYPE_LABEL[req.type] ?? "Approval"}?`), expiry),
      h("p", { class: "tier-help" }, `${tier.label} tier: ${tier.help}`),
      h("pre", { class: "action", "aria-label": "Action" }, h("code", null, revealInvisible(str(ev.action)))),
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
      controls,
      status,
    );
    replace(this.#root, card);
    this.#tick();
    this.#startTimer();
  }
}
