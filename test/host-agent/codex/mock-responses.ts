// A scripted stand-in for the OpenAI Responses API, so the real `codex
// app-server` can run offline. Each POST /v1/responses takes the next step
// from the queue (a tool call, a streamed text reply, a stream that never
// ends, …) and answers it as SSE. Every request body is recorded so tests can
// assert what Codex sent (history, tool outputs, model, reasoning effort).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const MAX_BODY = 8 * 1024 * 1024;

export type Step =
  /** A shell call through the `exec_command` tool. */
  | { kind: "exec"; cmd: string; sandboxPermissions?: "use_default" | "require_escalated"; justification?: string; yieldTimeMs?: number }
  /** An `apply_patch` custom tool call (offered for known slugs such as gpt-5.5). */
  | { kind: "patch"; patch: string }
  /** A `request_user_input` call. */
  | { kind: "ask"; questions: Array<{ id: string; header: string; question: string; options: Array<{ label: string; description: string }> }> }
  /** An assistant message streamed as deltas. */
  | { kind: "text"; text: string; chunks?: number }
  /** Sends one delta, then holds the stream open until the client goes away or release() is called. */
  | { kind: "hang"; text?: string }
  /** HTTP 500 (with retries off, Codex fails the turn). */
  | { kind: "fail" }
  /** A reasoning item whose summary parts stream as deltas, then an assistant message. */
  | { kind: "reasoning"; summary: string[]; text: string }
  /** A server-side web search (a `web_search_call` output item), then an assistant message. */
  | { kind: "search"; action: Record<string, unknown>; text: string }
  /** A server-side image generation (an `image_generation_call` item with the base64 image), then a message. */
  | { kind: "imagegen"; base64: string; prompt: string; text: string }
  /** A call of any function tool by name (an MCP server's tool, `view_image`, …). */
  | { kind: "call"; name: string; args: Record<string, unknown>; namespace?: string }
  /** A client-executed `tool_search` call (Codex keeps MCP tools deferred until the model searches for them). */
  | { kind: "toolSearch"; query: string };

export interface RecordedRequest {
  body: Record<string, unknown>;
  /** Items of `input` (conversation history as Codex sent it). */
  input: Array<Record<string, unknown>>;
}

export class MockResponses {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: Step[] = [];
  private readonly waiters: Array<() => void> = [];
  private readonly hanging = new Set<ServerResponse>();
  private server: Server | undefined;
  private seq = 0;
  port = 0;

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  script(...steps: Step[]): void {
    this.queue.push(...steps);
  }

  /** Resolves once `n` requests in total have arrived. */
  async waitForRequests(n: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < n) {
      if (Date.now() > deadline) throw new Error(`mock: expected ${n} requests, got ${this.requests.length}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** Ends every held ("hang") stream without completing it. */
  release(): void {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.release();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST" || !req.url?.endsWith("/responses")) {
      res.writeHead(404).end();
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(req)) as Record<string, unknown>;
    } catch {
      res.writeHead(400).end("bad body");
      return;
    }
    const input = Array.isArray(body.input) ? (body.input as Array<Record<string, unknown>>) : [];
    this.requests.push({ body, input });
    for (const wake of this.waiters.splice(0)) wake();

    const step = this.queue.shift() ?? { kind: "text", text: "done" };
    if (step.kind === "fail") {
      res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "mock failure" } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const id = `resp_${++this.seq}`;
    const send = (event: Record<string, unknown>) => res.write(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`);
    send({ type: "response.created", response: { id } });
    const callId = `call_${this.seq}`;
    switch (step.kind) {
      case "exec": {
        const args = {
          cmd: step.cmd,
          login: false,
          yield_time_ms: step.yieldTimeMs ?? 10_000,
          ...(step.sandboxPermissions ? { sandbox_permissions: step.sandboxPermissions } : {}),
          ...(step.justification ? { justification: step.justification } : {}),
        };
        send({
          type: "response.output_item.done",
          output_index: 0,
          item: { type: "function_call", id: `fc_${this.seq}`, call_id: callId, name: "exec_command", arguments: JSON.stringify(args) },
        });
        break;
      }
      case "patch":
        send({
          type: "response.output_item.done",
          output_index: 0,
          item: { type: "custom_tool_call", id: `ctc_${this.seq}`, call_id: callId, name: "apply_patch", input: step.patch },
        });
        break;
      case "ask":
        sendFunctionCall(send, `fc_${this.seq}`, callId, { name: "request_user_input", arguments: JSON.stringify({ questions: step.questions }) });
        break;
      case "text":
        streamText(send, `msg_${this.seq}`, step.text, step.chunks ?? 3);
        break;
      case "call":
        sendFunctionCall(send, `fc_${this.seq}`, callId, {
          name: step.name,
          ...(step.namespace ? { namespace: step.namespace } : {}),
          arguments: JSON.stringify(step.args),
        });
        break;
      case "toolSearch":
        send({
          type: "response.output_item.done",
          output_index: 0,
          item: {
            type: "tool_search_call",
            id: `tsc_${this.seq}`,
            call_id: callId,
            status: "completed",
            execution: "client",
            arguments: { query: step.query },
          },
        });
        break;
      case "reasoning": {
        const rid = `rs_${this.seq}`;
        send({ type: "response.output_item.added", output_index: 0, item: { type: "reasoning", id: rid, summary: [] } });
        step.summary.forEach((part, i) => {
          send({ type: "response.reasoning_summary_part.added", item_id: rid, output_index: 0, summary_index: i, part: { type: "summary_text", text: "" } });
          const half = Math.ceil(part.length / 2);
          for (const delta of [part.slice(0, half), part.slice(half)]) {
            send({ type: "response.reasoning_summary_text.delta", item_id: rid, output_index: 0, summary_index: i, delta });
          }
        });
        send({
          type: "response.output_item.done",
          output_index: 0,
          item: { type: "reasoning", id: rid, summary: step.summary.map((text) => ({ type: "summary_text", text })), content: [], encrypted_content: null },
        });
        streamText(send, `msg_${this.seq}`, step.text, 1, 1);
        break;
      }
      case "search":
        send({
          type: "response.output_item.done",
          output_index: 0,
          item: { type: "web_search_call", id: `ws_${this.seq}`, status: "completed", action: step.action },
        });
        streamText(send, `msg_${this.seq}`, step.text, 1, 1);
        break;
      case "imagegen":
        send({
          type: "response.output_item.done",
          output_index: 0,
          item: { type: "image_generation_call", id: `ig_${this.seq}`, status: "completed", revised_prompt: step.prompt, result: step.base64 },
        });
        streamText(send, `msg_${this.seq}`, step.text, 1, 1);
        break;
      case "hang":
        send({ type: "response.output_item.added", output_index: 0, item: { type: "message", id: `msg_${this.seq}`, role: "assistant", content: [] } });
        send({ type: "response.output_text.delta", item_id: `msg_${this.seq}`, output_index: 0, content_index: 0, delta: step.text ?? "thinking…" });
        this.hanging.add(res);
        res.on("close", () => this.hanging.delete(res));
        return;
    }
    send({
      type: "response.completed",
      response: {
        id,
        usage: {
          input_tokens: 10,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: 5,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: 15,
        },
      },
    });
    res.end();
  }
}

/** A finished function_call output item (a tool the model calls). */
function sendFunctionCall(
  send: (e: Record<string, unknown>) => void,
  id: string,
  callId: string,
  call: { name: string; namespace?: string; arguments: string },
): void {
  send({ type: "response.output_item.done", output_index: 0, item: { type: "function_call", id, call_id: callId, ...call } });
}

function streamText(send: (e: Record<string, unknown>) => void, itemId: string, text: string, chunks: number, outputIndex = 0): void {
  send({ type: "response.output_item.added", output_index: outputIndex, item: { type: "message", id: itemId, role: "assistant", content: [] } });
  const size = Math.max(1, Math.ceil(text.length / chunks));
  for (let i = 0; i < text.length; i += size) {
    send({ type: "response.output_text.delta", item_id: itemId, output_index: outputIndex, content_index: 0, delta: text.slice(i, i + size) });
  }
  send({
    type: "response.output_item.done",
    output_index: outputIndex,
    item: { type: "message", id: itemId, role: "assistant", content: [{ type: "output_text", text, annotations: [] }] },
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error("body too large");
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString("utf8");
}

/** The `-c` overrides that point Codex at the mock and keep it offline. */
export function mockProviderConfig(baseUrl: string): Record<string, string> {
  return {
    model_provider: '"mock"',
    "model_providers.mock.name": '"mock"',
    "model_providers.mock.base_url": JSON.stringify(baseUrl),
    "model_providers.mock.wire_api": '"responses"',
    "model_providers.mock.request_max_retries": "0",
    "model_providers.mock.stream_max_retries": "0",
    "model_providers.mock.supports_websockets": "false",
    "features.plugins": "false",
    "features.remote_plugin": "false",
    "features.apps": "false",
    "analytics.enabled": "false",
    "feedback.enabled": "false",
  };
}
