// Writes test/vectors/handshake-v1.json and relay-app-v1.json (run: npm run vectors:golden).
// Deterministic: running it twice yields the same file byte for byte.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { nobleBackend } from "../../protocol/src/index.ts";
import { buildGolden, serializeGolden } from "./golden-build.ts";
import { buildExtraGolden, serializeExtraGolden } from "./golden-extra-build.ts";

function write(name: string, text: string): void {
  const target = fileURLToPath(new URL(`./${name}`, import.meta.url));
  let previous: string | undefined;
  try {
    previous = readFileSync(target, "utf8");
  } catch {
    previous = undefined;
  }
  writeFileSync(target, text);
  const status = previous === undefined ? "created" : previous === text ? "unchanged" : "CHANGED";
  console.log(`${target}: ${text.length} bytes, ${status}`);
}

write("handshake-v1.json", serializeGolden(await buildGolden(nobleBackend)));
write("relay-app-v1.json", serializeExtraGolden(await buildExtraGolden(nobleBackend)));
