// The exit code and message for an error a command threw that is not a
// CliError: the stores' and the identity's own errors (docs/host-agent.md, exit
// codes). A module of its own so that cli.ts loads these classes only on the
// error path.
import { DeviceStoreError } from "../device-store.ts";
import { IdentityError } from "../identity.ts";
import { TokenCliError } from "../tokens/token-cli.ts";
import { TokenStoreError } from "../tokens/token-store.ts";
import { Exit } from "./context.ts";

/** The exit code for a known error class; undefined for anything else. */
export function exitCodeOf(e: unknown): number | undefined {
  if (e instanceof TokenCliError) return e.exitCode;
  if (e instanceof TokenStoreError)
    return e.code === "TOKEN_NOT_FOUND" || e.code === "TOKEN_AMBIGUOUS" ? Exit.NOT_FOUND : e.code === "BAD_TOKEN_ARGUMENT" ? Exit.USAGE : Exit.ERROR;
  if (e instanceof IdentityError) return Exit.IDENTITY;
  if (e instanceof DeviceStoreError) return e.code === "DEVICE_NOT_FOUND" || e.code === "DEVICE_AMBIGUOUS" ? Exit.NOT_FOUND : Exit.ERROR;
  return undefined;
}
