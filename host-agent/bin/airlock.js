#!/usr/bin/env node
// The checkout's `airlock`: runs the TypeScript sources through tsx's loader.
// The packed package's bin is the compiled dist/src/bin.js (scripts/build-packages.mjs).
import { register } from "tsx/esm/api";

register();
await import("../src/bin.ts");
