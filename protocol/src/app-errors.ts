// Application error codes: the `code` of an `error` message (app-envelope.ts
// errorBodySchema) that a host sends a device. One table, like errors.ts: the
// host answers only with these codes, the SDK types them, and docs/protocol.md
// §10.5 and docs/app-protocol.schema.json list exactly these.
//
// The wire keeps `code` open (any ^[A-Z][A-Z0-9_]{0,63}$): a device must treat a
// code it does not know like INTERNAL, so later hosts can add codes.
import type { DeviceCommandType } from "./app-protocol.ts";

export interface AppErrorInfo {
  /** When the host answers with this code. */
  readonly description: string;
  /** The commands it can answer, or "*": any message a device sends (before its type is known). */
  readonly commands: readonly DeviceCommandType[] | "*";
}

/** Commands that name a thread and look it up first. */
const THREAD_COMMANDS = [
  "thread.subscribe",
  "thread.send",
  "turn.steer",
  "turn.interrupt",
  "question.answer",
  "approval.decide",
  "thread.settings",
] as const satisfies readonly DeviceCommandType[];

/** Commands that reach the agent. */
const AGENT_COMMANDS = ["thread.start", "thread.send", "turn.steer", "turn.interrupt", "thread.settings"] as const satisfies readonly DeviceCommandType[];

export const APP_ERRORS = {
  // Any message (the envelope and body checks of app-envelope.ts)
  APP_MESSAGE_TOO_LARGE: { description: "the message is larger than 512 KiB", commands: "*" },
  APP_MESSAGE_INVALID: { description: "the message is not UTF-8 JSON, nests too deep, or its envelope or body fails its schema", commands: "*" },
  APP_UNKNOWN_TYPE: { description: "the message type is not part of the application protocol", commands: "*" },
  NOT_ALLOWED: {
    description: "a device sent a type only hosts send; approval.decide on a request policy reserves for the host's terminal (where: host-only)",
    commands: "*",
  },
  INTERNAL: { description: "an unexpected failure on the host; the message is always generic (the detail is logged on the host only)", commands: "*" },

  // Commands
  THREAD_NOT_FOUND: { description: "no thread with this id on the host (or the agent lost it)", commands: THREAD_COMMANDS },
  SEQ_AHEAD: { description: "thread.subscribe afterSeq is beyond the thread's last seq", commands: ["thread.subscribe"] },
  THREAD_LIMIT: { description: "the host already holds its maximum number of threads (default 200)", commands: ["thread.start"] },
  CWD_INVALID: {
    description:
      "the requested cwd is not an existing folder inside the host's workspace once symbolic links are resolved (outside, missing, not a folder, or a link leading out)",
    commands: ["thread.start"],
  },
  MODEL_UNKNOWN: {
    description: "the agent lists its models and has none with this id, or the model (else the thread's or the default one) does not offer this effort",
    commands: ["thread.start", "thread.settings"],
  },
  TURN_NOT_RUNNING: { description: "turn.steer or turn.interrupt on a thread with no running turn", commands: ["turn.steer", "turn.interrupt"] },
  TURN_RUNNING: { description: "the agent cannot take a new turn while one runs (steer or interrupt it)", commands: ["thread.send"] },
  THREAD_EXISTS: { description: "the agent already has a thread with this id (a host fault; retry with a new command id)", commands: ["thread.start"] },
  NOT_PENDING: {
    description: "nothing to answer or decide: already decided by someone else, expired, cancelled or unknown",
    commands: ["question.answer", "approval.decide"],
  },
  INVALID_DECISION: {
    description: "a decision the request does not offer, or an optionId the question does not have",
    commands: ["question.answer", "approval.decide"],
  },
  AGENT_UNAVAILABLE: { description: "the agent is not running, restarting or closed; retry later", commands: AGENT_COMMANDS },
  AGENT_ERROR: { description: "the agent refused or failed the request", commands: AGENT_COMMANDS },
  UNSUPPORTED: {
    description: "the agent cannot do this (e.g. turn.steer on an ACP agent, which has no steering; host.info capabilities say what it can)",
    commands: ["turn.steer"],
  },
  THREAD_LOST: {
    description: "the agent cannot continue this thread after a restart (it cannot reload its session); start a new thread",
    commands: ["thread.send", "turn.steer", "thread.settings"],
  },
  PUSH_UNAVAILABLE: {
    description: "push cannot be used: the relay has no VAPID key, does not allow the subscription's push service, or cannot be reached",
    commands: ["push.register", "push.test"],
  },
  PUSH_NOT_REGISTERED: { description: "push.test from a device that has no push subscription with this host", commands: ["push.test"] },
  PUSH_FAILED: { description: "the push service refused the test push (the message gives its HTTP status)", commands: ["push.test"] },
  HOOK_DENIED: {
    description: "a UserPromptSubmit hook on the host refused the prompt, or failed and so failed closed (the message names the hook and gives its reason)",
    commands: ["thread.start", "thread.send", "turn.steer"],
  },
  TOKEN_SCOPE: {
    description:
      "an automation token asked for something outside its scope: a thread it did not start (or, with read, outside its workspaces), a folder outside its workspaces, or something a token never may (decide an approval, answer a question, push)",
    commands: "*",
  },
  TOKEN_EXPIRED: { description: "the automation token expired since its session began; its owner must get a new one (airlock tokens rotate)", commands: "*" },
  TOKEN_REVOKED: { description: "the automation token was revoked or rotated since its session began", commands: "*" },
} as const satisfies Record<string, AppErrorInfo>;

export type AppErrorCode = keyof typeof APP_ERRORS;

/** Every application error code, in table order. */
export const APP_ERROR_CODES = /* @__PURE__ */ Object.keys(APP_ERRORS) as AppErrorCode[];

export function isAppErrorCode(code: unknown): code is AppErrorCode {
  return typeof code === "string" && Object.prototype.hasOwnProperty.call(APP_ERRORS, code);
}

/** The codes a command can be answered with (including those of any message), in table order. */
export function appErrorsFor(command: DeviceCommandType): AppErrorCode[] {
  return APP_ERROR_CODES.filter((code) => {
    const commands: AppErrorInfo["commands"] = APP_ERRORS[code].commands;
    return commands === "*" || commands.includes(command);
  });
}
