// @airlock/client-sdk/ui: framework-free web components for Airlock threads.
// Importing this module registers the elements (in a browser); every element
// takes properties (and JSON attributes where it makes sense) and reports
// user decisions as DOM events that bubble and cross shadow roots.
import { defineOnce } from "./registry.ts";
import { AirlockApprovalElement } from "./approval.ts";
import { AirlockQuestionElement } from "./question.ts";
import { AirlockDiffElement } from "./diff.ts";
import { AirlockTerminalElement } from "./terminal.ts";
import { AirlockThreadElement } from "./thread.ts";

export { AirlockApprovalElement, AirlockQuestionElement, AirlockDiffElement, AirlockTerminalElement, AirlockThreadElement };
/** The small DOM helpers the components are built with, for apps that compose with them (the reference web app does). */
export { h, append, replace, type Attrs, type Child } from "./dom.ts";
export { TIERS } from "./approval.ts";
export { THEME_PROPERTIES } from "./theme.ts";
export { AnsiParser, stripAnsi } from "./ansi.ts";
export { parseUnifiedDiff, type DiffFile, type DiffHunk, type DiffLine } from "./diff-parse.ts";
export { highlightLine, languageFor } from "./highlight.ts";
export type { AnswerDetail, DecideDetail, SequencedEvent } from "./types.ts";

export function defineAirlockElements(): void {
  defineOnce("airlock-approval", AirlockApprovalElement);
  defineOnce("airlock-question", AirlockQuestionElement);
  defineOnce("airlock-diff", AirlockDiffElement);
  defineOnce("airlock-terminal", AirlockTerminalElement);
  defineOnce("airlock-thread", AirlockThreadElement);
}

defineAirlockElements();

declare global {
  interface HTMLElementTagNameMap {
    "airlock-approval": AirlockApprovalElement;
    "airlock-question": AirlockQuestionElement;
    "airlock-diff": AirlockDiffElement;
    "airlock-terminal": AirlockTerminalElement;
    "airlock-thread": AirlockThreadElement;
  }
  interface HTMLElementEventMap {
    decide: CustomEvent<import("./types.ts").DecideDetail>;
    answer: CustomEvent<import("./types.ts").AnswerDetail>;
  }
}
