// Tools whose job is secrets: gpg, ssh keys and agents, the macOS keychain,
// password and secret managers, openssl key generation. Using, exporting or
// creating secret material is COMMIT with flags.credentials; listing keys
// and verifying signatures is "continue".
import { mk, type Classification } from "../classification.ts";
import { texts } from "../words.ts";
import type { Rule } from "./rule.ts";

export const secretToolRule: Rule = (name, args): Classification | null => {
  const a = texts(args);
  const cred = (rule: string, reason: string): Classification => mk("commit", rule, reason, { credentials: true });
  switch (name) {
    case "gpg":
    case "gpg2":
      if (a.some((t) => /^--(export-secret|gen-key|full-gen-key|quick-gen-key|delete-secret|decrypt|export-ownertrust)/.test(t)) || a.includes("-d"))
        return cred("secrets.gpg", "exports, creates or uses secret keys");
      if (a.some((t) => /^--(list-keys|list-public-keys|fingerprint|verify|version)$/.test(t)) || a.includes("-k"))
        return mk("continue", "read.gpg", "lists or verifies keys");
      return mk("expand", "secrets.gpg-other", "gpg operation", { credentials: true, externalTools: true });
    case "ssh-keygen":
      if (a.some((t) => /^-[A-Za-z]*[lFB]/.test(t)) && !a.includes("-t")) return mk("continue", "read.ssh-key", "shows a key fingerprint");
      return cred("secrets.keygen", "creates or changes SSH keys");
    case "ssh-add":
      if (a.includes("-l") || a.includes("-L")) return mk("continue", "read.ssh-key", "lists loaded keys");
      return cred("secrets.ssh-agent", "loads or removes SSH keys");
    case "ssh-copy-id":
      return mk("commit", "secrets.ssh-agent", "installs an SSH key on another host", { credentials: true, network: true });
    case "security":
      if (a.some((t) => /password|dump-keychain|export|unlock-keychain|add-generic|add-internet|delete-/.test(t)))
        return cred("secrets.keychain", "reads or changes the keychain");
      return mk("expand", "secrets.keychain-other", "keychain operation", { credentials: true });
    case "op":
    case "pass":
    case "gopass":
    case "bw":
    case "lpass":
    case "vault":
    case "doppler":
    case "sops":
    case "aws-vault":
    case "chamber":
    case "infisical":
    case "age":
    case "keyring":
    case "secret-tool":
      return cred("secrets.manager", `${name} handles secrets`);
    case "openssl":
      if (/^(genrsa|genpkey|req|pkcs12|rsa|ec|pkey|pkcs8|ca)$/.test(a[0] ?? "")) return cred("secrets.keygen", "creates or converts private keys");
      if (a[0] === "s_client") return mk("expand", "net.other", "opens a TLS connection", { network: true });
      return mk("expand", "crypto.openssl", "openssl operation", { externalTools: true });
  }
  return null;
};
