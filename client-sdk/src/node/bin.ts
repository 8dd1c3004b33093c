#!/usr/bin/env node
// The `airlock-client` command. The packed package runs the compiled copy of
// this file; the checkout runs it through tsx (bin/airlock-client.js).
import { main } from "./cli.ts";

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Every command closes its client before returning; a socket or timer still
// pending must not keep the process alive.
setTimeout(() => process.exit(code), 2000).unref();
