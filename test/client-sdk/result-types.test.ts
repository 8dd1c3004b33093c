// The SDK's commands are typed per command by the protocol (issue 17 item 3):
// each method and HostConnection.command(type, body) resolve with
// CommandResult<type> (protocol/src/app-results.ts, from COMMAND_ANSWERS) and
// command's body is DeviceCommandBody<type>. Type checks only: `npm run
// typecheck` fails when a result or body type goes loose or wrong (an
// expected error that stops being one fails too); at run time these tests
// check nothing, and the SDK bundle carries none of it.
import { describe, expectTypeOf, it } from "vitest";
import type { ApprovalDecision, CommandResult, HostConnection, NoResultData, ThreadSummary } from "../../client-sdk/src/index.ts";
import { disablePush, enablePush, testPush, type PushKind } from "../../client-sdk/src/push.ts";

// Never called: the type checker reads them.
const pushTest = (conn: HostConnection) => conn.command("push.test", {});
const decideAny = (conn: HostConnection) => conn.command("approval.decide", { thread: "t", approvalId: "a", decision: "deny" });
const listThreads = (conn: HostConnection) => conn.command("threads.list", {});
const wrongBodies = (conn: HostConnection) => [
  // @ts-expect-error push.register needs the subscription
  conn.command("push.register", { kinds: ["turn"], details: true }),
  // @ts-expect-error a decision is one of the protocol's
  conn.command("approval.decide", { thread: "t", approvalId: "a", decision: "maybe" }),
  // @ts-expect-error thread.send needs its text
  conn.command("thread.send", { thread: "t" }),
  // @ts-expect-error not a device command
  conn.command("thread.list", { threads: [] }),
];

describe("command result types", () => {
  it("the methods resolve with their command's result", () => {
    expectTypeOf<ReturnType<HostConnection["startThread"]>>().toEqualTypeOf<Promise<{ thread: string }>>();
    expectTypeOf<ReturnType<HostConnection["decide"]>>().toEqualTypeOf<Promise<{ approvalId: string; decision: ApprovalDecision }>>();
    expectTypeOf<ReturnType<HostConnection["send"]>>().toEqualTypeOf<Promise<NoResultData>>();
    expectTypeOf<ReturnType<HostConnection["steer"]>>().toEqualTypeOf<Promise<NoResultData>>();
    expectTypeOf<ReturnType<HostConnection["interrupt"]>>().toEqualTypeOf<Promise<NoResultData>>();
    expectTypeOf<ReturnType<HostConnection["answer"]>>().toEqualTypeOf<Promise<NoResultData>>();
    expectTypeOf<ReturnType<HostConnection["settings"]>>().toEqualTypeOf<Promise<NoResultData>>();
  });

  it("command(type, body) is typed by its type", () => {
    expectTypeOf(pushTest).returns.toEqualTypeOf<Promise<{ status: number }>>();
    expectTypeOf(decideAny).returns.toEqualTypeOf<ReturnType<HostConnection["decide"]>>();
    expectTypeOf(listThreads).returns.toEqualTypeOf<Promise<{ threads: ThreadSummary[] }>>();
    expectTypeOf<CommandResult<"ack">>().toBeNever();
    expectTypeOf(wrongBodies).toBeFunction();
  });

  it("the push functions resolve with the push commands' results", () => {
    expectTypeOf(enablePush).returns.toEqualTypeOf<Promise<{ kinds: PushKind[]; details: boolean }>>();
    expectTypeOf(disablePush).returns.toEqualTypeOf<Promise<NoResultData>>();
    expectTypeOf(testPush).returns.toEqualTypeOf<Promise<{ status: number }>>();
  });
});
