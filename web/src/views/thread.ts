// One thread: its events (<airlock-thread>), a composer that sends a follow-up
// (or steers a running turn), interrupt, and model/effort for later turns.
import type { ThreadSummary } from "@airlock/client-sdk";
import type { AirlockThreadElement } from "@airlock/client-sdk/ui";
import { ago, errorText, type AppContext, type View } from "../context.ts";
import { button, field, h, replace } from "../ui.ts";
import { connectionBanner } from "./banner.ts";
import { modelControls } from "./host.ts";

export function threadView(ctx: AppContext, hostId: string, threadId: string): View {
  const host = ctx.client.hosts().find((x) => x.id === hostId);
  const conn = ctx.connection(hostId);
  const banner = connectionBanner(conn, () => host?.name ?? "The host");

  // Sticky state: is the host reachable (a dot and words, never colour alone), and the model.
  const dot = h("span", { class: "dot", "aria-hidden": "true" });
  const stateText = h("span", { class: "state-text" });
  const renderState = () => {
    const state = conn.state === "online" ? "online" : conn.state === "host-offline" ? "offline" : conn.state === "connecting" ? "connecting" : "unreachable";
    dot.dataset.state = state;
    stateText.textContent = `${host?.name ?? "Host"} · ${
      state === "online"
        ? "online"
        : state === "offline"
          ? `offline, seen ${ago(conn.presence.lastSeen)}`
          : state === "connecting"
            ? "connecting…"
            : "no connection"
    }`;
  };
  renderState();
  const summary = (): ThreadSummary | undefined => conn.threads.find((t) => t.id === threadId);

  const threadEl = document.createElement("airlock-thread") as AirlockThreadElement;
  const sub = conn.subscribe(threadId);
  threadEl.events = sub.events;

  // Follow new events while the reader is at the bottom of the page.
  const nearBottom = () => window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 120;
  const offEvent = sub.on("event", ({ seq, event }) => {
    const follow = nearBottom();
    threadEl.appendEvent(seq, event);
    if (follow) requestAnimationFrame(() => window.scrollTo({ top: document.documentElement.scrollHeight }));
    if (event.kind === "turn.status") renderComposer();
  });

  threadEl.addEventListener("decide", (e) => {
    const { approvalId, decision } = e.detail;
    conn.decide(threadId, approvalId, decision).catch((err) => threadEl.approvalFailed(approvalId, errorText(err)));
  });
  threadEl.addEventListener("answer", (e) => {
    const { questionId, answer, optionId } = e.detail;
    conn.answer(threadId, questionId, answer, optionId).catch((err) => threadEl.questionFailed(questionId, errorText(err)));
  });

  // Composer
  const text = h("textarea", { rows: 2, placeholder: "Message the agent" });
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const stop = button(
    "Stop",
    async () => {
      try {
        await conn.interrupt(threadId);
      } catch (err) {
        ctx.toast(`Could not stop: ${errorText(err)}`);
      }
    },
    { class: "danger", "aria-label": "Stop the running turn" },
  );
  const running = () => threadEl.running || summary()?.status === "running";
  // An agent that declares what it can do (host.info capabilities, "agent.*") and lacks "agent.steer"
  // (ACP agents) cannot take instructions during a turn: offer Stop, not Steer.
  const canSteer = () => {
    const caps = conn.hostInfo?.capabilities ?? [];
    return !caps.some((c) => c.startsWith("agent.")) || caps.includes("agent.steer");
  };
  const renderComposer = () => {
    const r = running();
    const steer = r && canSteer();
    send.textContent = steer ? "Steer" : "Send";
    send.hidden = r && !steer;
    text.disabled = r && !steer;
    text.placeholder = steer ? "Steer the running turn" : r ? "This agent cannot be steered: stop the turn, then send" : "Message the agent";
    stop.hidden = !r;
  };
  const composer = h("form", { class: "composer", "aria-label": "Reply" }, field("Message", text), h("div", { class: "composer-buttons" }, stop, send));
  composer.addEventListener("submit", async (e) => {
    e.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    send.disabled = true;
    try {
      if (running()) {
        // The turn may have ended since this screen last heard: then the text starts a new turn.
        await conn.steer(threadId, value).catch((err: unknown) => {
          if ((err as { code?: unknown }).code === "TURN_NOT_RUNNING") return conn.send(threadId, value);
          throw err;
        });
      } else await conn.send(threadId, value);
      text.value = "";
    } catch (err) {
      ctx.toast(`Not sent: ${errorText(err)}`);
    } finally {
      send.disabled = false;
    }
  });

  // Model and effort for the next turns.
  const settingsBody = h("div", { class: "row-fields" });
  const settingsSummary = h("summary", null, "Model");
  const settings = h("details", { class: "settings" }, settingsSummary, settingsBody);
  const stateBar = h("div", { class: "thread-state" }, h("p", { class: "host-state", role: "status", "aria-live": "polite" }, dot, stateText), settings);
  const renderSettings = () => {
    const s = summary();
    const c = modelControls(conn.hostInfo, { model: s?.model, effort: s?.effort });
    settingsSummary.textContent = `${s?.model ?? conn.hostInfo?.defaultModel ?? "default"}${s?.effort ? ` · ${s.effort}` : ""}`;
    settingsSummary.setAttribute("aria-label", `Model: ${settingsSummary.textContent}`);
    const apply = async () => {
      try {
        const effort = c.selectedEffort();
        await conn.settings(threadId, { model: c.model.value, ...(effort ? { effort } : {}) });
        ctx.toast("Settings apply from the next turn.");
      } catch (err) {
        ctx.toast(`Could not change settings: ${errorText(err)}`);
      }
    };
    c.model.addEventListener("change", apply);
    c.effort.addEventListener("change", apply);
    replace(settingsBody, field("Model", c.model), field("Effort", c.effort));
  };
  renderSettings();

  const title = () => summary()?.title || "Thread";
  const offs = [
    conn.on("threads", () => {
      renderComposer();
      if (!settings.open) renderSettings();
      ctx.retitle(title());
    }),
    conn.on("hostInfo", () => {
      renderSettings();
      renderComposer();
    }),
    conn.on("state", renderState),
    conn.on("presence", renderState),
  ];
  renderComposer();

  return {
    el: h("section", { class: "page thread-page" }, h("div", { class: "sticky-state" }, stateBar, banner.el), threadEl, composer),
    title: title(),
    back: { view: "host", host: hostId },
    dispose() {
      offEvent();
      sub.close();
      banner.dispose();
      offs.forEach((off) => off());
    },
  };
}
