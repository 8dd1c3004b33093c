// File edits an agent proposes (a patch, not a command): each path is judged
// by what it is (secrets, the Airlock policy, git internals, CI, infra,
// lockfiles and manifests) and where it is (outside the workspace, files
// that run at login); an edit of many files is "expand" even when each one
// is routine, so a sweeping change is looked at as a whole.
import { max, mk, type Classification, type ClassifyContext, type FlagInit, type Tier } from "./classification.ts";
import { PERSISTENCE_PATH, POLICY_PATH, pathClass, resolvePath, workspaceOf } from "./paths.ts";
import { isSecretPath } from "./secrets.ts";
import { literalWord } from "./shell-parse.ts";

const FILE_RULES: { re: RegExp; tier: Tier; rule: string; reason: string; flags: FlagInit }[] = [
  { re: POLICY_PATH, tier: "commit", rule: "files.policy", reason: "changes an Airlock policy file", flags: {} },
  { re: /(^|\/)\.git\/(hooks\/|config$)/, tier: "commit", rule: "files.git-internals", reason: "changes git hooks or config, which run code", flags: {} },
  {
    re: /(^|\/)\.(github\/workflows|github\/actions|circleci|buildkite|gitlab|woodpecker|drone)\/|(^|\/)(\.gitlab-ci\.ya?ml|Jenkinsfile|azure-pipelines\.ya?ml|\.travis\.yml|bitbucket-pipelines\.yml|cloudbuild\.ya?ml|\.pre-commit-config\.yaml|CODEOWNERS)$/,
    tier: "expand",
    rule: "files.ci",
    reason: "changes CI configuration (runs with CI secrets once pushed)",
    flags: {},
  },
  {
    re: /\.(tf|tfvars|hcl)$|(^|\/)(k8s|kubernetes|helm|charts|deploy|deployment|infra|infrastructure|terraform|ansible|pulumi)\/|(^|\/)(Chart\.ya?ml|wrangler\.(toml|jsonc?)|fly\.toml|vercel\.json|netlify\.toml|serverless\.ya?ml|app\.ya?ml|Procfile|docker-compose[\w.-]*\.ya?ml|compose\.ya?ml|Dockerfile[\w.-]*|skaffold\.ya?ml|cdk\.json|Pulumi[\w.-]*\.ya?ml)$/,
    tier: "expand",
    rule: "files.infra",
    reason: "changes infrastructure or deployment configuration",
    flags: {},
  },
  {
    re: /(^|\/)(package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|Cargo\.lock|go\.sum|poetry\.lock|Pipfile\.lock|uv\.lock|Gemfile\.lock|composer\.lock|flake\.lock|packages\.lock\.json|gradle\.lockfile)$/,
    tier: "expand",
    rule: "files.lockfile",
    reason: "changes a dependency lockfile",
    flags: {},
  },
  {
    re: /(^|\/)(package\.json|requirements[\w.-]*\.txt|pyproject\.toml|setup\.py|setup\.cfg|Pipfile|Cargo\.toml|go\.mod|Gemfile|composer\.json|build\.gradle(\.kts)?|pom\.xml|\.npmrc|\.yarnrc(\.yml)?|\.nvmrc|Makefile|tsconfig[\w.-]*\.json|vitest\.config\.\w+|\.gitmodules|\.gitattributes)$/,
    tier: "expand",
    rule: "files.manifest",
    reason: "changes dependencies, build or tool configuration",
    flags: {},
  },
];

/** Files changed by an edit (paths relative to cwd or absolute). */
export function classifyFileChange(paths: readonly string[], context: ClassifyContext = {}): Classification {
  const st = workspaceOf(context);
  const root = st.root;
  if (paths.length === 0) return mk("continue", "files.none", "no files");
  let c: Classification = mk("continue", "files.workspace", `edits ${paths.length} file${paths.length === 1 ? "" : "s"} in the workspace`, { writes: true });
  for (const p of paths) {
    const w = literalWord(p);
    const abs = resolvePath(w, st) ?? p;
    const rel = abs.startsWith(root + "/") ? abs.slice(root.length + 1) : abs;
    const pc = pathClass(w, st);
    if (isSecretPath(p) || isSecretPath(abs))
      c = max(c, mk("commit", "files.secrets", `changes ${p}, which holds secrets`, { writes: true, credentials: true }));
    else if (PERSISTENCE_PATH.test(abs) && pc !== "inside")
      c = max(c, mk("commit", "system.persistence", `changes ${p}, which runs code at login or in git`, { writes: true }));
    else if (pc !== "inside" && pc !== "workspace")
      c = max(c, mk("commit", "files.outside-workspace", `changes ${p}, outside the workspace`, { writes: true }));
    for (const r of FILE_RULES) {
      if (r.re.test(rel)) {
        c = max(c, mk(r.tier, r.rule, `${r.reason}: ${p}`, { ...r.flags, writes: true }));
        break;
      }
    }
  }
  if (c.tier === "continue" && paths.length > MANY_FILES)
    c = mk("expand", "files.many", `edits ${paths.length} files (more than ${MANY_FILES})`, { writes: true });
  return c;
}

/** More files than this in one change is "expand". */
export const MANY_FILES = 10;
