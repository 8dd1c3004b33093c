// Pairing at the terminal, shared by `airlock up` (--pair, or a device pairing
// while it runs in a terminal) and `airlock pair`: the link or QR code to show,
// and the y/N question with the device's name and SAS.
import { createInterface } from "node:readline/promises";
import type { PairingRequest } from "../host-core.ts";
import { terminalSafe } from "../terminal-text.ts";
import type { Context } from "./context.ts";

/**
 * Shows the device and its SAS and reads y/N from stdin (a terminal or a pipe;
 * with --json the request is a JSON line on stdout). End of input means no.
 */
export async function askOperator(ctx: Context, request: PairingRequest): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    if (ctx.json) ctx.out(JSON.stringify({ type: "confirm", ...request }));
    else {
      ctx.err(`\nDevice "${terminalSafe(request.deviceName)}" (${request.deviceId}) wants to pair.`);
      ctx.err(`Pair only if your phone shows:  ${request.sas}`);
      process.stderr.write("Pair this device? [y/N] ");
    }
    const answer = await new Promise<string>((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(""));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export async function showPairing(ctx: Context, link: string, expiresAt: number): Promise<void> {
  if (ctx.json) {
    ctx.out(JSON.stringify({ type: "pairing", link, expiresAt }));
    return;
  }
  const until = new Date(expiresAt * 1000).toLocaleTimeString();
  if (loopbackLink(link)) {
    // A phone cannot reach 127.0.0.1: a QR code would only send it nowhere.
    ctx.out(`\nOpen this link in a browser on this machine (valid until ${until}):\n${link}\n`);
    ctx.out(
      "A phone cannot reach this relay: it listens on loopback only. To pair a phone, run a relay it can reach (your own deployment: docs/operations.md) and start airlock up with --relay https://…",
    );
  } else {
    // The QR code library is loaded only when a code is drawn.
    const { default: QRCode } = await import("qrcode");
    const qr = await QRCode.toString(link, { type: "terminal", small: true, errorCorrectionLevel: "L" });
    ctx.out(`\nScan with your phone's camera (valid until ${until}):\n${qr}`);
    ctx.out(`Or open this link on the phone:\n${link}\n`);
  }
  ctx.out("Anyone with this link can ask to pair until it is used or expires: keep it to yourself.");
}

/** Whether the link's app or relay is on loopback (127.0.0.0/8, localhost, ::1): reachable from this machine only. */
export function loopbackLink(link: string): boolean {
  try {
    const app = new URL(link);
    const relay = new URLSearchParams(app.hash.slice(1)).get("relay");
    const hosts = [app.hostname, relay ? new URL(relay).hostname : ""];
    return hosts.some((h) => h === "localhost" || h === "[::1]" || /^127\./.test(h));
  } catch {
    return false;
  }
}
