#!/usr/bin/env node
// The checkout's `airlock-client`: runs the TypeScript sources through tsx's
// loader. The packed package's bin is the compiled dist/src/node/bin.js
// (scripts/build-packages.mjs).
import { register } from "tsx/esm/api";

register();
await import("../src/node/bin.ts");
