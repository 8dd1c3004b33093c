// The pairing link arrives in the URL fragment. Read it once at start-up and
// remove it from the address bar and the history entry at once, so the
// one-time secret is not left in history, bookmarks, screenshots of the URL
// bar or a later share of the page.

/** True if the fragment looks like a pairing link (v=1&relay=…). */
export function isPairingFragment(hash: string): boolean {
  return /^#v=\d+&relay=/.test(hash);
}

/** Returns the full link from the current location (or undefined) and scrubs it. */
export function takePairingLink(loc: Location = location, hist: History = history): string | undefined {
  if (!isPairingFragment(loc.hash)) return undefined;
  const link = loc.href;
  hist.replaceState(hist.state, "", loc.pathname + loc.search);
  return link;
}

/** A pasted or scanned text that contains a pairing link, trimmed. */
export function extractLink(text: string): string | undefined {
  const m = /https?:\/\/\S+#v=\d+&relay=\S+/.exec(text.trim());
  return m ? m[0] : undefined;
}
