// `npm run vapid:generate`: a VAPID key pair for a relay deployment
// (docs/operations.md "Push notifications"). Prints the public key and the
// commands to store the private key as a Worker secret; the private key itself
// is never printed, so it stays out of terminal scrollback and shell history.
//
//   npm run vapid:generate                  writes the private key to .dev/vapid-private-key (0600)
//   npm run vapid:generate -- --out <file>  … to <file> instead (never overwrites)
//   npm run vapid:generate -- --put         pipes it straight into `wrangler secret put VAPID_PRIVATE_KEY` (stdin)
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { generateVapidKeys } from "../protocol/src/web-push.ts";

function usage(message: string): never {
  console.error(`${message}\nusage: npm run vapid:generate [-- --out <file> | --put]`);
  process.exit(2);
}

const args = process.argv.slice(2);
let out: string | undefined;
let put = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--put") put = true;
  else if (args[i] === "--out" && args[i + 1] !== undefined) out = args[++i];
  else usage(`unknown argument: ${args[i]}`);
}
if (put && out !== undefined) usage("--put and --out exclude each other");

const keys = await generateVapidKeys();
console.log("VAPID public key (public; browsers subscribe with it, the relay serves it at /v1/info):");
console.log(`  ${keys.publicKey}\n`);
console.log("In wrangler.toml [vars]:");
console.log(`  VAPID_PUBLIC_KEY = "${keys.publicKey}"`);
console.log('  VAPID_SUBJECT = "mailto:you@example.com"   # a contact for push services: mailto: or https:\n');

if (put) {
  console.log("Storing the private key with `npx wrangler secret put VAPID_PRIVATE_KEY` (on its stdin) …");
  const child = spawn("npx", ["wrangler", "secret", "put", "VAPID_PRIVATE_KEY"], { stdio: ["pipe", "inherit", "inherit"] });
  child.stdin.end(keys.privateKey);
  const code = await new Promise<number>((resolveExit) => {
    child.on("error", () => resolveExit(1));
    child.on("exit", (c) => resolveExit(c ?? 1));
  });
  if (code !== 0) {
    console.error("wrangler secret put failed; the private key was not kept anywhere. Run this again.");
    process.exit(code);
  }
  console.log("Done. Deploy with `npx wrangler deploy` after setting the [vars] above.");
} else {
  const file = resolve(out ?? new URL("../.dev/vapid-private-key", import.meta.url).pathname);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, keys.privateKey, { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") usage(`${file} exists; move it away first (it may hold a key in use)`);
    throw e;
  }
  const rel = relative(process.cwd(), file);
  const shown = rel === "" || rel.startsWith("..") ? file : rel;
  console.log(`The private key is in ${shown} (mode 0600; it is not printed). Store it as a Worker secret, then delete the file:`);
  console.log(`  npx wrangler secret put VAPID_PRIVATE_KEY < ${shown}`);
  console.log(`  rm ${shown}`);
}
console.log("\nKeep one key pair per deployment: browsers' subscriptions are bound to the public key; a new pair means every device subscribes again.");
