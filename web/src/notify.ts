// Notifications while the page is open (no push: nothing leaves the device).
// Permission is only requested from a user gesture. A notification says that
// something waits and where, never the command or question text.
export class Notifier {
  #onOpen: (hostId: string, threadId: string) => void;

  constructor(onOpen: (hostId: string, threadId: string) => void) {
    this.#onOpen = onOpen;
  }

  get supported(): boolean {
    return typeof Notification !== "undefined";
  }

  get permission(): NotificationPermission | "unsupported" {
    return this.supported ? Notification.permission : "unsupported";
  }

  /** Call from a click handler. */
  async request(): Promise<NotificationPermission | "unsupported"> {
    if (!this.supported) return "unsupported";
    return Notification.requestPermission();
  }

  notify(hostId: string, threadId: string, title: string, body: string): void {
    if (this.permission !== "granted") return;
    try {
      const n = new Notification(title, { body, tag: `${hostId}/${threadId}` });
      n.onclick = () => {
        window.focus();
        this.#onOpen(hostId, threadId);
        n.close();
      };
    } catch {
      // Some mobile browsers only allow notifications from a service worker; the in-app badge remains.
    }
  }
}
