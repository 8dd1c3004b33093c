// Event shapes the components render, taken from the application protocol.
import type { ThreadEvent } from "@airlock/protocol";

export type { ThreadEvent };
export type EventOf<K extends ThreadEvent["kind"]> = Extract<ThreadEvent, { kind: K }>;
export type ApprovalRequest = EventOf<"approval.request">;
export type ApprovalResolved = EventOf<"approval.resolved">;
export type Question = EventOf<"question">;
export type Decision = ApprovalRequest["options"][number];

export interface DecideDetail {
  approvalId: string;
  decision: Decision;
}

export interface AnswerDetail {
  questionId: string;
  answer: string;
  optionId?: string;
}

export interface SequencedEvent {
  seq: number;
  event: ThreadEvent;
}
