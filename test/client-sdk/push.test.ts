// @airlock/client-sdk/push: the notification text for each push payload (what
// a lock screen shows, with and without details), the strict decoding, and
// that the core entries do not bundle it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { encodePushPayload, MAX_PUSH_PAYLOAD_BYTES, type PushPayload } from "../../protocol/src/push-payload.ts";
import { GENERIC_NOTIFICATION, notificationForPush, plainText, pushNotification } from "../../client-sdk/src/push.ts";

const host = { id: "AAAAAAAAAAAAAAAAAAAAAA", name: "mac-mini" };
const p = (over: Partial<PushPayload>): PushPayload => ({ v: 1, type: "request", kind: "approval", host, tag: "th-1", thread: "th-1", at: 1, ...over });

describe("pushNotification", () => {
  it("by default names only the kind of request and the host", () => {
    const n = pushNotification(p({ approvalId: "ap-1", actions: ["approve_once", "deny"] }));
    expect(n).toEqual({
      title: "Approval needed on mac-mini",
      body: "Open Airlock to review it.",
      tag: "th-1",
      actions: [
        { action: "approve_once", title: "Approve" },
        { action: "deny", title: "Deny" },
      ],
      silent: false,
      data: { type: "request", host: host.id, thread: "th-1", approvalId: "ap-1", route: `?host=${host.id}&thread=th-1` },
    });
    expect(pushNotification(p({ kind: "question", questionId: "q" })).title).toBe("Question from the agent on mac-mini");
    expect(pushNotification(p({ kind: undefined })).title).toBe("The agent on mac-mini is waiting for you");
  });

  it("shows details only when the payload has them", () => {
    const n = pushNotification(p({ approvalId: "ap-1", details: { title: "Fix the parser", action: "npm test", tier: "continue" } }));
    expect(n.body).toBe("Fix the parser\ncontinue: npm test");
    expect(pushNotification(p({ approvalId: "ap-1", details: {} })).body).toBe("Open Airlock to review it.");
  });

  it("offers actions only for an approval with a thread and an id", () => {
    expect(pushNotification(p({ actions: ["approve_once", "deny"] })).actions).toEqual([]); // no approvalId
    expect(pushNotification(p({ kind: "question", questionId: "q", actions: ["deny"] })).actions).toEqual([]);
    expect(pushNotification(p({ approvalId: "a", actions: ["approve_session", "approve_session"] })).actions).toEqual([
      { action: "approve_session", title: "Approve for session" },
    ]);
  });

  it("resolved: who decided, quietly; turns and the test push", () => {
    const r = (outcome: PushPayload["outcome"], by?: string) => pushNotification(p({ type: "resolved", approvalId: "a", outcome, ...(by ? { by } : {}) }));
    expect(r("approve_once", "Pixel")).toMatchObject({ title: "Approved on Pixel", silent: true, actions: [] });
    expect(r("deny", "policy").title).toBe("Denied by policy");
    expect(r("approve_session", "host").title).toBe("Approved at the host");
    expect(r("cancel", "timeout").title).toBe("Timed out");
    expect(r("answered").title).toBe("Answered");
    expect(pushNotification(p({ type: "turn", kind: "turn", outcome: "completed" })).title).toBe("Turn finished on mac-mini");
    expect(pushNotification(p({ type: "turn", kind: "turn", outcome: "failed" })).title).toBe("Turn failed on mac-mini");
    expect(pushNotification(p({ type: "test", kind: undefined, thread: undefined, tag: "test" }))).toMatchObject({
      title: "Test notification from mac-mini",
      data: { route: `?host=${host.id}` },
    });
  });

  it("host text loses control and bidi characters and is bounded", () => {
    expect(plainText("a\u202Eb\u0000c\n\td")).toBe("a b c d");
    expect(plainText("x".repeat(300), 10)).toBe(`${"x".repeat(9)}…`);
    expect(pushNotification(p({ host: { id: host.id, name: "\u202E\u0007" } })).title).toBe("Approval needed on your host");
  });
});

describe("notificationForPush", () => {
  it("decodes a valid payload", () => {
    expect(notificationForPush(encodePushPayload(p({}))).title).toBe("Approval needed on mac-mini");
  });
  it("anything else gives the generic notification", () => {
    const bad = [
      undefined,
      new Uint8Array([0xff]),
      new TextEncoder().encode("{}"),
      new TextEncoder().encode(JSON.stringify({ ...p({}), v: 2 })),
      new Uint8Array(MAX_PUSH_PAYLOAD_BYTES + 1),
    ];
    for (const b of bad) expect(notificationForPush(b)).toMatchObject({ ...GENERIC_NOTIFICATION, actions: [] });
  });
});

describe("bundling", () => {
  it("the core entries do not import the push entry", () => {
    for (const f of ["index.ts", "native.ts", "api.ts", "host-connection.ts", "client.ts"]) {
      expect(readFileSync(new URL(`../../client-sdk/src/${f}`, import.meta.url), "utf8")).not.toMatch(/push\.ts/);
    }
  });
});
