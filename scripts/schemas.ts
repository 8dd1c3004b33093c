// Writes docs/app-protocol.schema.json from the protocol's schemas (run: npm run schemas).
// test/protocol/app-schema.test.ts fails when the checked-in file differs.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { appProtocolJsonSchema, serializeJsonSchema } from "../protocol/src/json-schema.ts";

const target = fileURLToPath(new URL("../docs/app-protocol.schema.json", import.meta.url));
const text = serializeJsonSchema(appProtocolJsonSchema());
let previous: string | undefined;
try {
  previous = readFileSync(target, "utf8");
} catch {
  previous = undefined;
}
writeFileSync(target, text);
console.log(`${target}: ${text.length} bytes, ${previous === undefined ? "created" : previous === text ? "unchanged" : "CHANGED"}`);
