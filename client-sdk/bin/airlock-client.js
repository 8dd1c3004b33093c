#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader (the package ships sources).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/node/cli.ts");
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Every command closes its client before returning; a socket or timer still
// pending must not keep the process alive.
setTimeout(() => process.exit(code), 2000).unref();
