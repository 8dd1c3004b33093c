// One host: connection state, a composer for a new thread (with model and
// effort from the host's info), and the thread list.
import type { Effort, HostInfo, ThreadSummary } from "@airlock/client-sdk";
import { ago, errorText, type AppContext, type View } from "../context.ts";
import { field, h, replace, select } from "../ui.ts";
import { watchNotificationPermission } from "../notify.ts";
import { connectionBanner } from "./banner.ts";
import { pushSection } from "./push.ts";

const STATUS_LABEL: Record<ThreadSummary["status"], string> = {
  idle: "Idle",
  running: "Running",
  waiting: "Needs you",
  failed: "Failed",
  archived: "Archived",
};

export function modelControls(info: HostInfo | undefined, current: { model?: string | undefined; effort?: string | undefined }) {
  const models = info?.models ?? [];
  const model = select(
    models.map((m) => ({ value: m.id, label: m.name })),
    current.model || info?.defaultModel || models[0]?.id,
  );
  const effort = select([]);
  let efforts: readonly Effort[] = [];
  const fillEfforts = () => {
    const m = models.find((x) => x.id === model.value);
    efforts = m?.efforts ?? [];
    // Widened to string[]: the select's value and the saved effort are plain strings until found in the list.
    const list: readonly string[] = efforts;
    const keep = list.includes(effort.value)
      ? effort.value
      : current.effort && list.includes(current.effort)
        ? current.effort
        : (m?.defaultEffort ?? list[0] ?? "");
    replace(effort, ...list.map((e) => h("option", { value: e }, e)));
    effort.value = keep;
    effort.disabled = list.length === 0;
  };
  if (model.selectedIndex < 0 && models.length) model.selectedIndex = 0;
  model.addEventListener("change", fillEfforts);
  fillEfforts();
  model.disabled = models.length === 0;
  /** The selected effort, found among the model's efforts (the select offers only those); undefined when none is selected. */
  const selectedEffort = (): Effort | undefined => efforts.find((e) => e === effort.value);
  return { model, effort, selectedEffort };
}

export function hostView(ctx: AppContext, hostId: string): View {
  const host = ctx.client.hosts().find((x) => x.id === hostId);
  if (!host) {
    return {
      el: h("section", { class: "page" }, h("p", null, "This host is not paired with this device.")),
      title: "Unknown host",
      back: { view: "hosts" },
      dispose() {},
    };
  }
  const conn = ctx.connection(hostId);
  const banner = connectionBanner(conn, () => host.name);

  // New thread
  const prompt = h("textarea", { rows: 3, placeholder: "What should the agent do?", required: true });
  const settings = h("div", { class: "row-fields" });
  let controls = modelControls(conn.hostInfo, {});
  const renderSettings = () => {
    controls = modelControls(conn.hostInfo, { model: controls.model.value, effort: controls.effort.value });
    replace(settings, field("Model", controls.model), field("Effort", controls.effort));
  };
  renderSettings();
  const start = h("button", { type: "submit", class: "primary" }, "Start thread");
  const form = h("form", { class: "stack card", "aria-label": "New thread" }, h("h2", null, "New thread"), field("Prompt", prompt), settings, start);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = prompt.value.trim();
    if (!text) return;
    start.disabled = true;
    try {
      const opts: { prompt: string; model?: string; effort?: Effort } = { prompt: text };
      if (controls.model.value) opts.model = controls.model.value;
      const effort = controls.selectedEffort();
      if (effort) opts.effort = effort;
      const { thread } = await conn.startThread(opts);
      prompt.value = "";
      ctx.navigate({ view: "thread", host: hostId, thread });
    } catch (err) {
      ctx.toast(`Could not start: ${errorText(err)}`);
    } finally {
      start.disabled = false;
    }
  });

  // Thread list
  const list = h("ul", { class: "list", "aria-label": "Threads" });
  const renderThreads = (threads: ThreadSummary[]) => {
    if (threads.length === 0) {
      replace(list, h("li", { class: "empty" }, conn.state === "online" ? "No threads yet." : "Threads appear when the host is reachable."));
      return;
    }
    // "Needs you" first (something waits for a decision), then running, then the most recent.
    const rank = (t: ThreadSummary) => (t.pending > 0 || t.status === "waiting" ? 0 : t.status === "running" ? 1 : 2);
    const sorted = [...threads].sort((a, b) => rank(a) - rank(b) || b.updatedAt - a.updatedAt);
    replace(
      list,
      ...sorted.map((t) => {
        const a = h(
          "a",
          { href: `?host=${encodeURIComponent(hostId)}&thread=${encodeURIComponent(t.id)}`, class: "row-main" },
          h("span", { class: "row-title" }, t.title || "Untitled"),
          h("span", { class: "row-sub" }, h("span", { class: `pill status-${t.status}` }, STATUS_LABEL[t.status] ?? t.status), ` · ${ago(t.updatedAt)}`),
        );
        a.addEventListener("click", (e) => {
          e.preventDefault();
          ctx.navigate({ view: "thread", host: hostId, thread: t.id });
        });
        const pending = t.pending > 0 ? h("span", { class: "badge", "aria-label": `${t.pending} waiting for you` }, String(t.pending)) : null;
        return h("li", { class: "row", "data-thread": t.id }, a, pending);
      }),
    );
  };
  renderThreads(conn.threads);

  // Notifications: opt-in here (asks for the browser's permission on this tap if needed), and off again.
  // A toggle button: its name stays, aria-pressed (and the check mark) says whether they are on.
  const notify = ctx.notifier.supported ? h("button", { type: "button", class: "small notify" }, "Notify me about approvals") : null;
  const renderNotify = () => {
    if (!notify) return;
    notify.setAttribute("aria-pressed", String(ctx.notifier.enabled));
    // Blocked in the browser's settings: the push card says how to allow them, a button here would only fail.
    notify.hidden = ctx.notifier.permission === "denied";
  };
  notify?.addEventListener("click", async () => {
    if (ctx.notifier.enabled) {
      ctx.notifier.disable();
      ctx.toast("Notifications off.");
    } else {
      const result = await ctx.notifier.enable();
      ctx.toast(
        result === "granted"
          ? "Notifications on while this page is open."
          : result === "denied"
            ? "Notifications are blocked for this site in the browser's settings."
            : "Notifications stay off.",
      );
    }
    renderNotify();
  });
  renderNotify();

  // What runs there: the agent and platform, as the host describes itself.
  const about = h("p", { class: "hint" });
  const renderAbout = () => {
    const i = conn.hostInfo;
    about.textContent = i ? `${i.agent.label}${i.agent.version ? ` ${i.agent.version}` : ""} · ${i.platform} · airlock ${i.airlockVersion}` : "";
  };
  renderAbout();

  const push = pushSection(ctx, ctx.push, conn, host.relayUrl);
  const offs = [
    push.dispose,
    conn.on("threads", renderThreads),
    conn.on("hostInfo", () => {
      renderSettings();
      renderAbout();
    }),
    conn.on("state", () => renderThreads(conn.threads)),
    watchNotificationPermission(renderNotify),
  ];
  return {
    el: h("section", { class: "page stack" }, banner.el, about, form, h("h2", null, "Threads"), list, push.el, notify),
    title: host.name,
    back: { view: "hosts" },
    dispose() {
      banner.dispose();
      offs.forEach((off) => off());
    },
  };
}
