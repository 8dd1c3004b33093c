// Permission requests that are neither a command nor a file edit (an
// agent's "may I use the network / write / leave the sandbox" and questions
// about direction), by kind. An unknown kind is "expand".
import { mk, type Classification } from "./classification.ts";

/** A permission request that is not a command or a file change. */
export function classifyPermission(kind: string): Classification {
  const k = kind.toLowerCase().replace(/[-\s]/g, "_");
  switch (k) {
    case "question":
    case "choice":
    case "plan":
    case "user_input":
    case "elicitation":
    case "clarification":
      return mk("steer", "permission.question", "a question about direction, not an action");
    case "read":
    case "file_read":
    case "list":
      return mk("continue", "permission.read", "read access to the workspace");
    case "write":
    case "file_write":
    case "file_change":
    case "edit":
      return mk("expand", "permission.write", "write access", { writes: true });
    case "network":
    case "web_fetch":
    case "web_search":
    case "fetch":
      return mk("expand", "permission.network", "network access", { network: true });
    case "command":
    case "exec":
    case "shell":
      return mk("expand", "permission.exec", "runs commands not shown", { externalTools: true });
    case "mcp":
    case "tool":
    case "mcp_tool":
      return mk("expand", "permission.tool", "uses an external tool", { externalTools: true });
    case "credentials":
    case "secrets":
    case "secret":
    case "keychain":
      return mk("commit", "permission.credentials", "access to credentials", { credentials: true });
    case "full_access":
    case "danger_full_access":
    case "sandbox_escape":
    case "escalate":
    case "bypass_permissions":
      return mk("commit", "permission.full-access", "leaves the sandbox with full access", { network: true, credentials: true, externalTools: true, writes: true });
  }
  return mk("expand", "permission.unknown", `unknown permission kind "${kind}"; asking conservatively`);
}
