// Pairing: from a link the app was opened with, a scanned QR code, or a pasted
// link. Shows the SAS to compare with the host's terminal and waits for the
// host operator to confirm.
import { errorText, type AppContext, type View } from "../context.ts";
import { extractLink } from "../link.ts";
import { button, field, h, replace } from "../ui.ts";

const HINTS: Record<string, string> = {
  LINK_EXPIRED: "This pairing link expired. Run airlock pair on the host for a new one.",
  LINK_USED: "This pairing link was already used. Run airlock pair on the host for a new one.",
  LINK_INVALID: "That is not an Airlock pairing link.",
  HOST_REFUSED: "The host operator declined this device, or the codes did not match.",
  RELAY_UNREACHABLE: "The relay cannot be reached. Check your connection and try again.",
  TIMEOUT: "The host did not confirm in time.",
  ABORTED: "Pairing cancelled.",
};

export function defaultDeviceName(): string {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad/.test(ua)
      ? "iOS"
      : /Mac/.test(ua)
        ? "Mac"
        : /Windows/.test(ua)
          ? "Windows"
          : /Linux/.test(ua)
            ? "Linux"
            : "";
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  return os ? `${browser} on ${os}` : browser;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "that relay";
  }
}

export function pairView(ctx: AppContext, initialLink?: string): View {
  const body = h("div", { class: "stack" });
  const status = h("div", { role: "status", "aria-live": "polite", class: "stack" });
  let abort: AbortController | undefined;
  let stopScan: (() => void) | undefined;

  const nameInput = h("input", { type: "text", autocomplete: "off", maxlength: 64 });
  nameInput.value = localStorage.getItem("airlock.deviceName") ?? defaultDeviceName();

  const pair = async (link: string) => {
    stopScan?.();
    abort?.abort();
    abort = new AbortController();
    const name = nameInput.value.trim() || defaultDeviceName();
    localStorage.setItem("airlock.deviceName", name);
    replace(body);
    replace(status, h("p", null, "Connecting to the host…"));
    // A build pinned to certain relays (scripts/build-web.ts --relay) may not
    // reach the one this link names: say so at once instead of retrying.
    let blocked: string | undefined;
    const current = abort;
    const onViolation = (e: SecurityPolicyViolationEvent) => {
      if (e.effectiveDirective !== "connect-src" || current.signal.aborted) return;
      blocked = e.blockedURI;
      current.abort();
    };
    document.addEventListener("securitypolicyviolation", onViolation);
    try {
      const { host, sas } = await ctx.client.pair(link, {
        signal: abort.signal,
        deviceName: name,
        onSas: (code) => {
          replace(
            status,
            h("p", null, "Check that the host's terminal shows the same code:"),
            h("p", { class: "sas", "aria-label": `Code ${code.split("").join(" ")}` }, code),
            h("p", { class: "hint" }, "Waiting for the host operator to confirm…"),
            button("Cancel", () => abort?.abort()),
          );
        },
      });
      ctx.navigate({ view: "host", host: host.id }, { replace: true });
      ctx.toast(`Paired with ${host.name} (code ${sas})`);
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      const text = blocked
        ? `This copy of the app is set up for other relays: its security policy does not allow connecting to ${originOf(blocked)}. Open the link in an app that allows that relay (such as the one the relay serves).`
        : (HINTS[code] ?? `Pairing failed: ${errorText(e)}`);
      replace(status, h("p", { class: "error", role: "alert" }, text));
      showForm();
    } finally {
      document.removeEventListener("securitypolicyviolation", onViolation);
    }
  };

  const showForm = () => {
    const input = h("textarea", { rows: 3, autocomplete: "off", spellcheck: "false", placeholder: "https://…#v=1&relay=…" });
    const form = h(
      "form",
      { class: "stack" },
      field("Pairing link", input, "Paste the link airlock pair printed on the host."),
      h("button", { type: "submit", class: "primary" }, "Pair"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const link = extractLink(input.value);
      if (!link) {
        replace(status, h("p", { class: "error", role: "alert" }, HINTS.LINK_INVALID!));
        return;
      }
      input.value = "";
      void pair(link);
    });
    const scan =
      "BarcodeDetector" in window && typeof navigator.mediaDevices?.getUserMedia === "function"
        ? button("Scan QR code", () => void startScan(), { class: "primary" })
        : null;
    replace(body, field("This device's name", nameInput, "The host operator sees it when confirming."), scan, form);
  };

  const startScan = async () => {
    const video = h("video", { playsinline: true, muted: true, class: "scanner", "aria-label": "Camera preview" });
    let stream: MediaStream | undefined;
    let stopped = false;
    stopScan = () => {
      stopped = true;
      stream?.getTracks().forEach((t) => t.stop());
      stopScan = undefined;
    };
    replace(
      body,
      video,
      button("Stop scanning", () => {
        stopScan?.();
        showForm();
      }),
    );
    replace(status, h("p", null, "Point the camera at the QR code on the host."));
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream;
      await video.play();
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      while (!stopped) {
        const codes = await detector.detect(video).catch(() => []);
        const link = codes.map((c) => extractLink(c.rawValue)).find(Boolean);
        if (link) return void pair(link);
        await new Promise((r) => setTimeout(r, 250));
      }
    } catch (e) {
      stopScan?.();
      replace(status, h("p", { class: "error", role: "alert" }, `Camera unavailable: ${errorText(e)}. Paste the link instead.`));
      showForm();
    }
  };

  if (initialLink) void pair(initialLink);
  else showForm();

  return {
    el: h("section", { class: "page stack" }, status, body),
    title: "Pair a host",
    back: { view: "hosts" },
    dispose() {
      stopScan?.();
      abort?.abort();
    },
  };
}
