// Network clients: HTTP downloaders, ssh/scp, sockets, DNS and ping are
// "expand" with the network flag (ssh and scp also use credentials); rsync
// is judged by where it writes and whether it deletes; tunnels (ngrok,
// cloudflared) are COMMIT because they expose this machine to the internet.
// `curl … | sh` is caught by the composer, which sees the whole pipeline.
import { mk, type Classification } from "../classification.ts";
import { writeTargets } from "../paths.ts";
import { has, hasShort, positionals } from "../words.ts";
import type { Rule } from "./rule.ts";

const NETWORK = new Map<string, string>([
  ["curl", "net.curl"],
  ["wget", "net.wget"],
  ["http", "net.http"],
  ["https", "net.http"],
  ["xh", "net.http"],
  ["aria2c", "net.wget"],
  ["ssh", "net.ssh"],
  ["scp", "net.scp"],
  ["sftp", "net.scp"],
  ["mosh", "net.ssh"],
  ["nc", "net.other"],
  ["ncat", "net.other"],
  ["netcat", "net.other"],
  ["telnet", "net.other"],
  ["ftp", "net.other"],
  ["socat", "net.other"],
  ["nmap", "net.other"],
  ["ping", "net.other"],
  ["dig", "net.other"],
  ["nslookup", "net.other"],
  ["host", "net.other"],
  ["traceroute", "net.other"],
  ["whois", "net.other"],
]);

export const networkRule: Rule = (name, args, st): Classification | null => {
  const net = NETWORK.get(name);
  if (net !== undefined) {
    const writes =
      name === "curl"
        ? has(args, "-o", "-O", "--output", "--remote-name", "-J") || hasShort(args, "o") || hasShort(args, "O")
        : name === "wget" || name === "scp" || name === "sftp";
    return mk("expand", net, `${name} reaches the network`, {
      network: true,
      credentials: name === "ssh" || name === "scp" || name === "sftp" || name === "mosh",
      writes,
    });
  }
  if (name === "rsync") {
    const ps = positionals(args);
    const remote = ps.some((w) => /^[^/]*:/.test(w.text));
    const base = remote
      ? mk("expand", "net.rsync", "rsync to or from another host", { network: true, credentials: true, writes: true })
      : mk("expand", "fs.copy", "rsync copies files", { writes: true });
    return writeTargets(base, ps.slice(-1), st, has(args, "--delete", "--delete-after", "--delete-before"), true);
  }
  if (name === "ngrok" || name === "cloudflared" || name === "localtunnel" || name === "lt")
    return mk("commit", "net.tunnel", "exposes this machine to the internet", { network: true, externalTools: true });
  return null;
};
