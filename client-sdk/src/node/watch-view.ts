// How `airlock-client` shows a thread's events to people (watch, exec): one
// line per event, message deltas joined, diffs indented, peer text cleaned of
// control characters. Its own module so every command that prints events
// shares it without importing the CLI's entry.
import type { SeqEvent } from "../thread-subscription.ts";

// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are replaced
const clean = (s: string, max = 200) => s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?").slice(0, max);
/** Diff lines, indented, at most `max` of them. */
function diffLines(diff: string, max = 80): string[] {
  const lines = diff.replace(/\n$/, "").split("\n");
  const out = lines.slice(0, max).map((l) => `    ${clean(l, 400)}`);
  if (lines.length > max) out.push(`    … ${lines.length - max} more diff lines`);
  return out;
}

/**
 * Turns events into lines for people: message deltas are joined and printed
 * a line at a time (the rest when the message completes), diffs are shown for
 * file changes and approvals, hints name the real thread and request ids.
 */
export class WatchView {
  #partial = new Map<string, { seq: number; text: string; printed: boolean }>();
  /** Reasoning text already printed per item (each reasoning event repeats the summary so far). */
  #reasoning = new Map<string, string>();

  /**
   * `command`: how to run this CLI where the lines are printed (hints use it,
   * e.g. "npx airlock-client --home dev"); null when this client cannot decide
   * (an automation token): hints then say who can.
   */
  constructor(
    readonly thread: string,
    readonly command: string | null = "airlock-client",
  ) {}

  lines({ seq, event: e }: SeqEvent): string[] {
    const head = (text: string) => `#${seq} ${e.kind}: ${text}`;
    switch (e.kind) {
      case "message.delta": {
        const m = this.#partial.get(e.itemId) ?? { seq, text: "", printed: false };
        m.text += e.text;
        this.#partial.set(e.itemId, m);
        const out: string[] = [];
        let nl: number;
        while ((nl = m.text.indexOf("\n")) >= 0) {
          out.push(this.#messageLine(m, m.text.slice(0, nl)));
          m.text = m.text.slice(nl + 1);
        }
        return out;
      }
      case "message.completed": {
        const m = this.#partial.get(e.itemId);
        this.#partial.delete(e.itemId);
        // Deltas already printed their complete lines: print only what is left.
        if (m && m.printed) return m.text ? [this.#messageLine(m, m.text)] : [];
        return e.text.split("\n").map((l, i) => (i === 0 ? head(clean(l, 2000)) : `  ${clean(l, 2000)}`));
      }
      case "message.user":
        return [head(clean(e.text, 2000))];
      case "turn.status":
        return [...this.flush(), head(`${e.status}${e.error ? `: ${clean(e.error)}` : ""}`)];
      case "command.started":
        return [head(`$ ${clean(e.command, 2000)}`)];
      case "command.output":
        return e.chunk
          .replace(/\n$/, "")
          .split("\n")
          .map((l) => `  ${clean(l, 2000)}`);
      case "command.finished":
        return [head(`exit ${e.exitCode ?? "killed"} in ${e.durationMs} ms`)];
      case "approval.request": {
        const host = e.hostCli ? clean(e.hostCli) : "airlock";
        const hint =
          e.where === "host-only"
            ? `decide at the host: ${host} approve ${e.approvalId} (or ${host} deny ${e.approvalId})`
            : this.command === null
              ? "a person decides on a paired device (an automation token cannot)"
              : `approve: ${this.command} approve ${this.thread} ${e.approvalId}  ·  deny: ${this.command} deny ${this.thread} ${e.approvalId}`;
        const flags = Object.entries(e.evidence.flags ?? {})
          .filter(([, on]) => on === true)
          .map(([k]) => k);
        return [
          head(`${e.approvalId} [${e.tier}, ${e.where}] ${clean(e.evidence.action.split("\n")[0] ?? "")}`),
          ...e.evidence.action
            .split("\n")
            .slice(1)
            .map((l) => `  ${clean(l)}`),
          ...(e.evidence.reason ? [`  why: ${clean(e.evidence.reason, 500)}`] : ["  why: (the agent gave no reason)"]),
          ...(flags.length ? [`  uses: ${flags.join(", ")}`] : []),
          ...(typeof e.diff === "string" && e.diff ? diffLines(e.diff) : []),
          `  ${hint}`,
        ];
      }
      case "approval.resolved":
        return [head(`${e.approvalId}: ${e.decision} by ${clean(e.by)}${e.note ? ` (${clean(e.note)})` : ""}`)];
      case "question":
        return [
          head(`${e.questionId}: ${clean(e.text, 2000)}${e.options ? ` (${e.options.map((o) => `${o.id}=${clean(o.label, 40)}`).join(", ")})` : ""}`),
          this.command === null
            ? "  a person answers on a paired device (an automation token cannot)"
            : `  answer: ${this.command} answer ${this.thread} ${e.questionId} TEXT${e.options?.length ? ` --option ${e.options[0]!.id}` : ""}`,
        ];
      case "file.change":
        return [head(`${e.change} ${clean(e.path)}`), ...diffLines(e.diff)];
      case "notice":
        return [head(`${e.level}: ${clean(e.text)}`)];
      case "plan.update":
        return [head(""), ...e.steps.map((st) => `  ${st.status === "completed" ? "[x]" : st.status === "in_progress" ? "[>]" : "[ ]"} ${clean(st.text)}`)];
      case "test.result":
        return [head(`${e.status} ${clean(e.name)}${e.summary ? `: ${clean(e.summary)}` : ""}`)];
      case "reasoning": {
        const before = this.#reasoning.get(e.itemId) ?? "";
        if (this.#reasoning.size > 200 && !this.#reasoning.has(e.itemId)) this.#reasoning.delete(this.#reasoning.keys().next().value as string);
        this.#reasoning.set(e.itemId, e.text);
        const fresh = e.text.startsWith(before) ? e.text.slice(before.length) : e.text;
        const lines = fresh.split("\n").filter((l) => l.trim());
        if (!lines.length) return [];
        return before ? lines.map((l) => `  ${clean(l, 2000)}`) : [head(clean(lines[0]!, 2000)), ...lines.slice(1).map((l) => `  ${clean(l, 2000)}`)];
      }
      case "tool.call": {
        const out = [head(`${clean(e.name)} ${e.status}${e.input ? `: ${clean(e.input.replace(/\s+/g, " "), 300)}` : ""}`)];
        if (e.output) {
          const lines = e.output.replace(/\n$/, "").split("\n");
          out.push(...lines.slice(0, 20).map((l) => `  ${clean(l, 400)}`));
          if (lines.length > 20) out.push(`  … ${lines.length - 20} more lines`);
        }
        return out;
      }
      case "turn.diff": {
        const lines = e.diff.split("\n");
        const files = lines.filter((l) => l.startsWith("+++ ")).length;
        const added = lines.filter((l) => l.startsWith("+") && !l.startsWith("+++ ")).length;
        const removed = lines.filter((l) => l.startsWith("-") && !l.startsWith("--- ")).length;
        return [head(`${files} ${files === 1 ? "file" : "files"} changed in this turn, +${added} -${removed}`)];
      }
      default:
        return [head(clean(JSON.stringify(e).slice(0, 200)))];
    }
  }

  /** Partial message lines still buffered (at the end of a turn or of the watch). */
  flush(): string[] {
    const out: string[] = [];
    for (const [id, m] of this.#partial) {
      if (m.text) out.push(this.#messageLine(m, m.text));
      this.#partial.delete(id);
    }
    return out;
  }

  #messageLine(m: { seq: number; printed: boolean }, text: string): string {
    const first = !m.printed;
    m.printed = true;
    return first ? `#${m.seq} message: ${clean(text, 2000)}` : `  ${clean(text, 2000)}`;
  }
}
