import { AirlockProtocolError, type ErrorCode } from "../../protocol/src/index.ts";

/** Runs `fn` and names what it threw, so tests can assert exact protocol error codes. */
export function codeOf(fn: () => unknown): ErrorCode | "no error" | "not a protocol error" {
  try {
    fn();
  } catch (e) {
    return e instanceof AirlockProtocolError ? e.code : "not a protocol error";
  }
  return "no error";
}
