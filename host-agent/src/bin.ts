#!/usr/bin/env node
// The `airlock` command. The packed package runs the compiled copy of this file;
// the checkout runs it through tsx (bin/airlock.js).
import { main } from "./cli.ts";

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Every command has finished its own cleanup when main returns; a socket or
// timer still pending (say, a reconnect to a relay that is gone) must not keep
// the process alive.
setTimeout(() => process.exit(code), 2000).unref();
