// What counts as a secret: file paths (ssh keys, .env files, cloud and
// registry credentials, keychains, private keys, terraform state) and
// variable names (`$GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`…). Anything that
// touches one is COMMIT with flags.credentials, whatever the command, because
// a leaked secret cannot be taken back.
import { mk, type Classification } from "./classification.ts";

const SECRET_PATHS: RegExp[] = [
  /(^|[\\/\s'"=:@(,])\.ssh(\/|$|[\s'")])/,
  /(^|[\\/\s'"=:@(,])id_(rsa|dsa|ecdsa|ed25519)(_sk)?(?!\.pub)(\b|$)/,
  /(^|[\\/\s'"=:@(,])\.env(rc)?(\.(?!example\b|sample\b|template\b|dist\b|defaults?\b)[\w.-]+)?($|[\s'"\/;,)])/,
  /(^|[\\/\s'"=:@(,])\.(aws|azure|gnupg|password-store|docker\/config\.json|kube\/config|netrc|npmrc|pypirc|git-credentials|vault-token|terraformrc)(\/|$|[\s'")])/,
  /\.config\/(gcloud|gh\/hosts\.yml|op|doctl|hub)(\/|$|[\s'")])/,
  /\.(cargo|gem)\/credentials/,
  /credentials\.tfrc\.json|\/etc\/(shadow|gshadow|sudoers)\b|Keychains?\//,
  /\.(pem|key|p12|pfx|jks|keystore|kdbx|tfstate|tfstate\.backup)($|[\s'")])/,
  /(^|[\\/\s'"=:@(,])(secrets?|credentials|service[-_]account[\w-]*)\.(json|ya?ml|toml|env|txt)($|[\s'")])/,
];

/** A word that names a secret file (public keys and example .env files excepted). */
export function isSecretPath(text: string): boolean {
  const t = text.replace(/^(\$HOME|\$\{HOME\})(?=\/)/, "~");
  if (/\.pub($|[\s'")])/.test(t) && !/\.env/.test(t)) return false;
  return SECRET_PATHS.some((re) => re.test(t));
}

const SECRET_SEGMENTS = new Set(["SECRET", "SECRETS", "TOKEN", "PASSWORD", "PASSWD", "PASSPHRASE", "APIKEY", "CREDENTIAL", "CREDENTIALS", "PRIVATE"]);
/** GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, OPENAI_API_KEY, DB_PASSWORD… */
export function isSecretVar(name: string): boolean {
  const parts = name.toUpperCase().split("_");
  return parts.some((p, i) => SECRET_SEGMENTS.has(p) || ((p === "API" || p === "ACCESS") && parts[i + 1] === "KEY"));
}

/** Setting a secret variable (`GITHUB_TOKEN=… cmd`, `export API_KEY=…`). */
export const setsSecretVar = (name: string): Classification => mk("commit", "secrets.env-var", `sets the secret variable ${name}`, { credentials: true });

/** Printing the whole environment (`env`, `printenv`, `set`, `export -p`). */
export const printsEnvironment = (): Classification => mk("expand", "env.print", "prints the environment, which may hold secrets", { credentials: true });
