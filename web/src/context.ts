// What every view gets from the app shell.
import type { AirlockClient, HostConnection } from "@airlock/client-sdk";
import type { Route } from "./router.ts";
import type { Notifier } from "./notify.ts";
import type { PushController } from "./push.ts";

export interface View {
  el: HTMLElement;
  /** Page title (also the header). */
  title: string;
  /** The header's back target, if any. */
  back?: Route;
  dispose(): void;
}

export interface AppContext {
  client: AirlockClient;
  notifier: Notifier;
  /** Push notifications (web/src/push.ts). */
  push: PushController;
  navigate(route: Route, options?: { replace?: boolean }): void;
  /** The connection to a host, opened on first use and kept while the app runs. */
  connection(hostId: string): HostConnection;
  /** Changes the current view's title (header and document title). */
  retitle(text: string): void;
  /** A short message at the bottom of the screen. */
  toast(text: string): void;
}

/** A readable message for any error, never including a link's secret (the SDK strips it). */
export function errorText(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) return String((e as { message: unknown }).message);
  return String(e);
}

export function ago(ms: number | undefined): string {
  if (ms === undefined) return "never";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}
