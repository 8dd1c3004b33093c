#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader (the package ships sources).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Every command has finished its own cleanup when main returns; a socket or
// timer still pending (say, a reconnect to a relay that is gone) must not keep
// the process alive.
setTimeout(() => process.exit(code), 2000).unref();
