// What every `airlock` command shares: the context main() hands it, exit codes,
// the error that carries one, and the saved config. Node built-ins only, so
// `airlock --help` and usage errors load nothing heavy (cli.ts imports this
// statically; each command's own module is imported when it runs).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { CryptoBackend } from "@airlock/protocol";
import type { StatePaths } from "../paths.ts";
import { HostError } from "../host-error.ts";

export const VERSION = "0.1.0";
export const DEFAULT_RELAY = "http://127.0.0.1:8787";

/** Exit codes (docs/host-agent.md). */
export const Exit = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  IDENTITY: 3,
  RELAY_UNREACHABLE: 4,
  PAIRING_FAILED: 5,
  REPLACED: 6,
  NOT_FOUND: 7,
} as const;

/** A failure a command reports as `airlock: <message>` with this exit code. */
export class CliError extends HostError<keyof typeof Exit> {
  readonly exitCode: number;
  constructor(code: keyof typeof Exit, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "CliError";
    this.exitCode = Exit[code];
  }
}

export interface Context {
  paths: StatePaths;
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
  backend: CryptoBackend;
}

export interface Config {
  relayUrl?: string;
  appUrl?: string;
}

export function readConfig(paths: StatePaths): Config {
  try {
    return JSON.parse(readFileSync(paths.config, "utf8")) as Config;
  } catch {
    return {};
  }
}

export function writeConfig(paths: StatePaths, config: Config): void {
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  writeFileSync(paths.config, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
}

/** The configured relay, or the local default. */
export function configuredRelay(paths: StatePaths): string {
  return readConfig(paths).relayUrl ?? DEFAULT_RELAY;
}

export function checkUrl(url: string, flag: string): string {
  if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(url)) throw new CliError("USAGE", `${flag} must be an http(s) URL, got "${url}"`);
  return url.replace(/\/$/, "");
}

/**
 * WebCrypto keys with node:crypto frames where the runtime has WebCrypto (every
 * supported Node), noble otherwise; loaded when a command needs it, not for --help.
 */
export async function pickBackend(): Promise<CryptoBackend> {
  if (globalThis.crypto?.subtle) return (await import("@airlock/protocol/node")).nodeCryptoBackend;
  return (await import("@airlock/protocol/noble")).nobleBackend;
}
