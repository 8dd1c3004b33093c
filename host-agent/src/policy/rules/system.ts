// The machine itself: stopping processes is "expand"; powering off,
// persistence (cron, launchd, systemd units that start at boot), user
// accounts, the firewall and kernel settings are COMMIT; reading them is
// "continue" (firewall rules: "expand", they describe the machine's defences).
import { mk, type Classification } from "../classification.ts";
import { positionals, texts } from "../words.ts";
import type { Rule } from "./rule.ts";

export const systemRule: Rule = (name, args): Classification | null => {
  const a = texts(args);
  const pos = texts(positionals(args));
  switch (name) {
    case "kill":
    case "pkill":
    case "killall":
      return mk("expand", "proc.kill", `${name} stops processes`);
    case "shutdown":
    case "reboot":
    case "halt":
    case "poweroff":
      return mk("commit", "system.power", `${name} powers the machine off or restarts it`, { writes: true });
    case "crontab":
      return a.includes("-l")
        ? mk("continue", "read.system", "lists the crontab")
        : mk("commit", "system.persistence", "changes scheduled jobs", { writes: true });
    case "launchctl":
      return ["list", "print", "blame"].includes(pos[0] ?? "")
        ? mk("continue", "read.system", "launchctl reads")
        : mk("commit", "system.persistence", "launchctl loads or changes services", { writes: true });
    case "systemctl":
    case "service":
      if (["status", "list-units", "list-unit-files", "is-active", "is-enabled", "show", "cat", "--version"].includes(pos[0] ?? "") || pos.length === 0)
        return mk("continue", "read.system", `${name} reads service state`);
      if (["enable", "disable", "mask", "unmask", "edit", "daemon-reload", "link", "set-property"].includes(pos[0] ?? "") || pos[1] === "enable")
        return mk("commit", "system.persistence", `${name} changes which services start`, { writes: true });
      return mk("expand", "system.service", `${name} ${pos.join(" ")}`, { writes: true });
    case "useradd":
    case "userdel":
    case "usermod":
    case "adduser":
    case "deluser":
    case "passwd":
    case "chpasswd":
    case "visudo":
    case "groupadd":
    case "groupdel":
    case "dscl":
      return mk("commit", "system.accounts", `${name} changes user accounts`, { credentials: true, writes: true });
    case "iptables":
    case "ip6tables":
    case "nft":
    case "ufw":
    case "pfctl":
    case "firewall-cmd":
      return a.some((t) => /^(-L|-S|--list|status|list)/.test(t))
        ? mk("expand", "system.firewall-read", `${name} lists rules`, { credentials: true })
        : mk("commit", "system.firewall", `${name} changes the firewall`, { writes: true });
    case "sysctl":
      return a.includes("-w") || a.some((t) => t.includes("="))
        ? mk("commit", "system.kernel", "sysctl changes kernel settings", { writes: true })
        : mk("continue", "read.system", "sysctl reads");
    case "defaults":
      return pos[0] === "read"
        ? mk("continue", "read.system", "defaults read")
        : mk("expand", "system.settings", "defaults changes settings", { writes: true });
  }
  return null;
};
