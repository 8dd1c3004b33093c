// Containers, infrastructure and deploys: docker/podman, kubectl/helm,
// terraform/pulumi, serverless and hosting CLIs (wrangler, fly, vercel…),
// ansible and the cloud CLIs (aws, gcloud, az). Local work (`docker ps`,
// `helm template`, `terraform validate`) is "continue"; reading remote state
// is "expand" (it uses cloud credentials over the network); anything that changes what
// runs in production, publishes an image or reads cloud credentials is
// COMMIT. Privileged containers (host namespaces, the docker socket, the
// host's root mounted) count as host access and are COMMIT too.
import { mk, type Classification } from "../classification.ts";
import type { Word } from "../shell-parse.ts";
import { positionals, skipOptionsAll, texts } from "../words.ts";
import type { Rule } from "./rule.ts";

/** A deploy or cloud CLI: it reaches the network with the user's cloud credentials. */
const CLOUD = { network: true, credentials: true, externalTools: true } as const;

const DEPLOY_VERBS = new Set([
  "deploy",
  "create",
  "delete",
  "update",
  "apply",
  "set",
  "add",
  "remove",
  "rm",
  "put",
  "patch",
  "replace",
  "start",
  "stop",
  "restart",
  "reset",
  "resize",
  "scale",
  "submit",
  "publish",
  "push",
  "upload",
  "cp",
  "mv",
  "rsync",
  "sync",
  "import",
  "export",
  "rollback",
  "promote",
  "enable",
  "disable",
  "destroy",
  "terminate",
  "invoke",
  "call",
  "ssh",
  "scp",
  "attach",
  "detach",
  "reboot",
  "run-instances",
  "modify",
  "tag",
  "untag",
  "grant",
  "revoke",
  "release",
  "mb",
  "rb",
  "setmeta",
  "purge",
  "undelete",
  "execute",
  "migrate",
  "upgrade",
  "install",
  "uninstall",
]);
const READ_VERBS = new Set([
  "describe",
  "list",
  "get",
  "show",
  "ls",
  "read",
  "info",
  "version",
  "help",
  "logs",
  "tail",
  "whoami",
  "status",
  "get-iam-policy",
  "cat",
  "head",
  "wait",
  "stat",
  "du",
  "view",
]);
const SECRET_VERBS =
  /^(print-access-token|print-identity-token|get-access-token|get-secret-value|get-login-password|get-session-token|assume-role|create-access-key|export-credentials|get-credentials|login|access|decrypt|application-default)$/;

function cloud(name: string, args: Word[]): Classification {
  const words = texts(args).filter((t) => !t.startsWith("-"));
  if (
    words.some((t) => SECRET_VERBS.test(t)) ||
    (words.includes("secret") && words.includes("show")) ||
    (words.includes("configure") && name === "aws") ||
    args.some((w) => w.text === "--with-decryption")
  ) {
    return mk("commit", "secrets.cloud", `${name} ${words.slice(0, 3).join(" ")} reads or creates cloud credentials`, CLOUD);
  }
  const op =
    name === "aws" ? (positionals(skipOptionsAll(args, ["--profile", "--region", "--output", "--endpoint-url", "--query", "--color"]))[1]?.text ?? "") : "";
  const isRead =
    name === "aws"
      ? /^(describe|list|get|head|ls|wait|filter|lookup|search|batch-get|query|scan|tail|validate)\b/.test(op) || op === "get-caller-identity"
      : !words.some((t) => DEPLOY_VERBS.has(t)) && words.some((t) => READ_VERBS.has(t));
  if (isRead) return mk("expand", "cloud.read", `${name} ${words.slice(0, 4).join(" ")} reads cloud state`, CLOUD);
  return mk("commit", `deploy.${name}`, `${name} ${words.slice(0, 4).join(" ")} changes cloud resources`, CLOUD);
}

export const deployRule: Rule = (name, args): Classification | null => {
  const pos = texts(positionals(args));
  const [s, s2] = pos;
  const a = texts(args);
  const commit = (rule: string, reason: string): Classification => mk("commit", rule, reason, CLOUD);
  const read = (rule: string, reason: string): Classification => mk("expand", rule, reason, CLOUD);
  switch (name) {
    case "docker":
    case "podman":
    case "nerdctl":
    case "docker-compose": {
      const sub0 = name === "docker-compose" ? "compose" : s;
      if (sub0 === "push") return commit("publish.container", `${name} push publishes an image`);
      if (sub0 === "login" || sub0 === "logout") return mk("commit", "secrets.registry", `${name} ${sub0} handles registry credentials`, CLOUD);
      if (
        ["ps", "images", "logs", "inspect", "version", "info", "top", "stats", "history", "diff", "port"].includes(sub0 ?? "") ||
        (sub0 === "compose" && ["ps", "logs", "config", "ls", "images", "top"].includes(name === "docker-compose" ? (s ?? "") : (s2 ?? "")))
      ) {
        return mk("continue", "read.container", `${name} ${sub0 ?? ""} only reads`);
      }
      if (
        a.some(
          (t) =>
            t === "--privileged" ||
            /^--(pid|ipc|userns|uts)=?host$/.test(t) ||
            t.includes("docker.sock") ||
            /^\/:/.test(t) ||
            /^(~|\$HOME)(\/[^:]*)?:/.test(t) ||
            /^--cap-add(=|$)/.test(t),
        ) ||
        (a.includes("--pid") && a.includes("host"))
      ) {
        return mk("commit", "container.privileged", `${name} gives a container host-level access`, { ...CLOUD, writes: true });
      }
      if (sub0 === "run" || sub0 === "create" || (sub0 === "container" && s2 === "run"))
        return mk("expand", "container.run", `${name} runs a container`, { network: true, externalTools: true, writes: true });
      if (sub0 === "exec") return mk("expand", "container.exec", `${name} exec runs a command in a container`, { externalTools: true, writes: true });
      return mk("expand", "container.other", `${name} ${sub0 ?? ""} changes containers or images`, { network: true, externalTools: true, writes: true });
    }
    case "kubectl":
    case "oc":
    case "k9s":
      if (
        [
          "get",
          "describe",
          "logs",
          "top",
          "explain",
          "version",
          "api-resources",
          "api-versions",
          "cluster-info",
          "diff",
          "auth",
          "port-forward",
          "proxy",
          "events",
          "wait",
        ].includes(s ?? "") ||
        (s === "config" && ["view", "current-context", "get-contexts", "get-clusters"].includes(s2 ?? ""))
      ) {
        return read("infra.kubectl-read", `kubectl ${s ?? ""} reads the cluster`);
      }
      return commit("deploy.kubectl", `kubectl ${s ?? ""} changes the cluster`);
    case "helm":
      if (["template", "lint", "version", "create", "package", "show", "inspect", "env", "search", "dependency", "dep", "verify"].includes(s ?? ""))
        return mk("continue", "build.helm", `helm ${s ?? ""} works locally`, { externalTools: true });
      if (["list", "ls", "status", "get", "history"].includes(s ?? "")) return read("infra.helm-read", `helm ${s ?? ""} reads the cluster`);
      if (s === "repo") return mk("expand", "infra.helm-repo", "helm repo changes chart sources", { network: true, writes: true });
      return commit("deploy.helm", `helm ${s ?? ""} changes releases in the cluster`);
    case "terraform":
    case "tofu":
    case "terragrunt":
      if (
        ["apply", "destroy", "import", "taint", "untaint", "force-unlock", "run-all", "push"].includes(s ?? "") ||
        (s === "state" && !["list", "show", "pull"].includes(s2 ?? "")) ||
        (s === "workspace" && s2 === "delete")
      )
        return commit("deploy.terraform", `${name} ${s ?? ""} changes infrastructure`);
      if (s === "validate" || s === "version" || (s === "fmt" && a.includes("-check")))
        return mk("continue", "build.terraform", `${name} ${s ?? ""} checks locally`, { externalTools: true });
      if (s === "fmt") return mk("expand", "lint.fix", "terraform fmt rewrites files", { writes: true, externalTools: true });
      return read("infra.terraform-read", `${name} ${s ?? ""} reads infrastructure state`);
    case "pulumi":
      if (
        ["up", "update", "destroy", "import", "refresh", "cancel"].includes(s ?? "") ||
        (s === "stack" && (s2 === "rm" || s2 === "import")) ||
        (s === "config" && s2 === "set")
      )
        return commit("deploy.pulumi", `pulumi ${s ?? ""} changes infrastructure`);
      return read("infra.pulumi-read", `pulumi ${s ?? ""}`);
    case "cdk":
    case "sam":
    case "serverless":
    case "sls":
    case "firebase":
    case "netlify":
    case "eb":
    case "amplify":
    case "copilot":
      if (pos.some((t) => /^(deploy|destroy|remove|delete|publish|release|rollback|terminate|push|bootstrap)$|^(deploy|hosting):/.test(t)))
        return commit(`deploy.${name}`, `${name} ${s ?? ""} deploys`);
      return read(`infra.${name}`, `${name} ${s ?? ""}`);
    case "vercel":
    case "vc":
      if (
        ["dev", "ls", "list", "inspect", "logs", "whoami", "pull", "link", "login", "help", "build", "env"].includes(s ?? "") &&
        !(s === "env" && (s2 === "add" || s2 === "rm"))
      )
        return read("infra.vercel", `vercel ${s ?? ""}`);
      return commit("deploy.vercel", `vercel ${s ?? "(bare)"} deploys`);
    case "fly":
    case "flyctl":
    case "heroku":
    case "railway":
    case "render":
    case "doctl":
    case "wrangler":
      return classifyPlatform(name, args);
    case "ansible-playbook":
    case "ansible":
      return a.includes("--check") || a.includes("-C") ? read("infra.ansible", `${name} --check`) : commit("deploy.ansible", `${name} changes remote hosts`);
    case "aws":
    case "gcloud":
    case "gsutil":
    case "az":
    case "bq":
      return cloud(name, args);
  }
  return null;
};

function classifyPlatform(name: string, args: Word[]): Classification {
  const pos = texts(positionals(args));
  const [s, s2] = pos;
  const a = texts(args);
  if (name === "wrangler") {
    if (
      ["deploy", "publish", "rollback", "delete", "secret", "triggers"].includes(s ?? "") ||
      (s === "versions" && (s2 === "deploy" || s2 === "upload")) ||
      (s === "deployments" && s2 !== "list" && s2 !== "status")
    ) {
      return mk("commit", "deploy.wrangler", `wrangler ${s ?? ""} changes the deployed Worker`, CLOUD);
    }
    if (s === "d1" && (s2 === "execute" || s2 === "migrations") && !a.includes("--local")) {
      if (s2 === "migrations" && pos[2] === "list") return mk("expand", "infra.wrangler", "wrangler d1 migrations list", CLOUD);
      return mk("commit", "deploy.wrangler", `wrangler d1 ${s2} changes a remote database`, CLOUD);
    }
    if (
      pos.slice(1).some((t) => ["put", "delete", "create", "deploy", "publish", "upload", "apply", "bulk", "update", "purge"].includes(t)) &&
      !a.includes("--local")
    ) {
      return mk("commit", "deploy.wrangler", `wrangler ${pos.slice(0, 3).join(" ")} changes remote resources`, CLOUD);
    }
    return mk("expand", "infra.wrangler", `wrangler ${s ?? ""}`, CLOUD);
  }
  if (
    pos.some(
      (t) =>
        /^(deploy|launch|destroy|scale|restart|rollback|up|redeploy|secrets?|config:(set|unset)|ps:scale|releases:rollback|apps:destroy|pg:reset|create|delete|rm|remove|set|unset|import|run|ssh|console|exec)$/.test(
          t,
        ) || /:(set|unset|destroy|rollback|reset|scale|restart|create|remove|promote)$/.test(t),
    )
  ) {
    return mk("commit", `deploy.${name === "flyctl" ? "fly" : name}`, `${name} ${pos.slice(0, 3).join(" ")} changes a deployment`, CLOUD);
  }
  return mk("expand", `infra.${name === "flyctl" ? "fly" : name}`, `${name} ${s ?? ""}`.trim(), CLOUD);
}
