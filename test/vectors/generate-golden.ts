// Writes test/vectors/handshake-v1.json (run: npm run vectors:golden).
// Deterministic: running it twice yields the same file byte for byte.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { nobleBackend } from "../../protocol/src/index.ts";
import { buildGolden, serializeGolden } from "./golden-build.ts";

const target = fileURLToPath(new URL("./handshake-v1.json", import.meta.url));
const text = serializeGolden(await buildGolden(nobleBackend));
let previous: string | undefined;
try {
  previous = readFileSync(target, "utf8");
} catch {
  previous = undefined;
}
writeFileSync(target, text);
const status = previous === undefined ? "created" : previous === text ? "unchanged" : "CHANGED";
console.log(`${target}: ${text.length} bytes, ${status}`);
