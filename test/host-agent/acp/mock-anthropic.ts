// A local mock of the Anthropic Messages API (POST /v1/messages, streaming SSE)
// for driving the real Claude Code offline. Requests that offer Claude Code's
// tools (the agent loop) take the next scripted step; any other request (the
// session title, prompt suggestions) gets a short text answer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Step =
  | { kind: "text"; text: string }
  | { kind: "tool"; name: string; input: Record<string, unknown> }
  /** Holds the response open until the client goes away (interrupt tests). */
  | { kind: "hang" };

export interface SeenRequest {
  path: string;
  main: boolean;
  body: { model?: string; tools?: Array<{ name?: string }>; messages?: Array<{ role: string; content: unknown }>; system?: unknown };
}

export class MockAnthropic {
  readonly requests: SeenRequest[] = [];
  private steps: Step[] = [];
  private server: Server | undefined;
  private ids = 0;
  baseUrl = "";

  script(...steps: Step[]): void {
    this.steps.push(...steps);
  }

  get mainRequests(): SeenRequest[] {
    return this.requests.filter((r) => r.main);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = req.url ?? "";
    if (req.method !== "POST" || !path.startsWith("/v1/messages")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: "mock" } }));
      return;
    }
    let body: SeenRequest["body"] = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as SeenRequest["body"];
    } catch {
      /* counted as an aux request */
    }
    if (path.startsWith("/v1/messages/count_tokens")) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ input_tokens: 10 }));
      return;
    }
    const main = Array.isArray(body.tools) && body.tools.some((t) => t.name === "Bash");
    this.requests.push({ path, main, body });
    const step: Step = main ? (this.steps.shift() ?? { kind: "text", text: "(the mock has nothing more to say)" }) : { kind: "text", text: "Mock title" };
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const id = `msg_mock_${++this.ids}`;
    send("message_start", {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model: body.model ?? "claude-mock",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 1 },
      },
    });
    if (step.kind === "hang") {
      await new Promise<void>((resolve) => res.once("close", () => resolve()));
      return;
    }
    if (step.kind === "text") {
      send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
      const words = step.text.split(/(?<= )/);
      for (const w of words) send("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: w } });
      send("content_block_stop", { type: "content_block_stop", index: 0 });
    } else {
      send("content_block_start", {
        type: "content_block_start",
        index: 0,
        content_block: { type: "tool_use", id: `toolu_mock_${this.ids}`, name: step.name, input: {} },
      });
      send("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: JSON.stringify(step.input) } });
      send("content_block_stop", { type: "content_block_stop", index: 0 });
    }
    send("message_delta", {
      type: "message_delta",
      delta: { stop_reason: step.kind === "tool" ? "tool_use" : "end_turn", stop_sequence: null },
      usage: { output_tokens: 8 },
    });
    send("message_stop", { type: "message_stop" });
    res.end();
  }
}

/** The text of the tool_result blocks in a main request's last user message. */
export function lastToolResult(req: SeenRequest | undefined): string {
  const last = req?.body.messages?.at(-1);
  if (!last || !Array.isArray(last.content)) return "";
  return JSON.stringify(last.content.filter((c: { type?: string }) => c.type === "tool_result"));
}
