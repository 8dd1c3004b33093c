// A tiny MCP server over stdio (newline-delimited JSON-RPC 2.0) for the Codex
// adapter tests: one tool, `lookup`, that reports progress when asked for it
// and answers with a text result; `fail: true` makes it return an error result.
import { createInterface } from "node:readline";

const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);

const tool = {
  name: "lookup",
  description: "Looks a term up in the test glossary.",
  inputSchema: { type: "object", properties: { term: { type: "string" }, fail: { type: "boolean" } }, required: ["term"] },
  annotations: { readOnlyHint: true },
};

createInterface({ input: process.stdin }).on("line", (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  if (msg.id === undefined) return; // notifications (initialized, cancelled)
  switch (msg.method) {
    case "initialize":
      send({
        id: msg.id,
        result: {
          protocolVersion: msg.params?.protocolVersion ?? "2025-06-18",
          capabilities: { tools: {} },
          serverInfo: { name: "glossary", version: "1.0.0" },
        },
      });
      return;
    case "tools/list":
      send({ id: msg.id, result: { tools: [tool] } });
      return;
    case "tools/call": {
      const args = msg.params?.arguments ?? {};
      const token = msg.params?._meta?.progressToken;
      if (token !== undefined)
        send({ method: "notifications/progress", params: { progressToken: token, progress: 1, total: 2, message: "searching the glossary" } });
      if (args.fail) send({ id: msg.id, result: { isError: true, content: [{ type: "text", text: `no entry for ${args.term}` }] } });
      else send({ id: msg.id, result: { content: [{ type: "text", text: `${args.term}: a sealed room between two doors` }] } });
      return;
    }
    default:
      send({ id: msg.id, error: { code: -32601, message: "method not found" } });
  }
});
