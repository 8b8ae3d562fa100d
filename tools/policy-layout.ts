import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

/**
 * Where the policy lives and what is built from it. Rego packages sit anywhere
 * under `root`; `root/data/` holds the data documents, loaded with `root/data` as
 * their root (so `data/agentmesh/config.json` is `data.agentmesh`, and
 * `data/agentmesh/config/data.json` is `data.agentmesh.config`); `root/build/` is
 * the committed build output.
 */
export interface PolicyLayout {
  /** The policy directory; default `<repo>/policy`. */
  root: string;
  /** Data documents (loaded as their own root); `<root>/data`. */
  dataDir: string;
  /** The committed build: policy.wasm, data.json, manifest.json; `<root>/build`. */
  buildDir: string;
  /** The capabilities the Wasm build is held to; `<repo>/tools/opa/capabilities.json`. */
  capabilities: string;
  /** Entry points compiled into policy.wasm; `["agentmesh/decision"]`. */
  entrypoints: string[];
}

/** The names the loader skips below a root (OPA's `--ignore`, matched on base names). */
const ignoredDirs = ["data", "build"];
const testSuffix = "_test.rego";
const loadedExtensions = [".rego", ".json", ".yaml", ".yml"];

/** The layout of `policyRoot` (default: the repository's `policy/`). */
export function createPolicyLayout(repoRoot: string, policyRoot = join(repoRoot, "policy")): PolicyLayout {
  return {
    root: policyRoot,
    dataDir: join(policyRoot, "data"),
    buildDir: join(policyRoot, "build"),
    capabilities: join(repoRoot, "tools", "opa", "capabilities.json"),
    entrypoints: ["agentmesh/decision"],
  };
}

/**
 * The path arguments and `--ignore` flags that make `opa build|check|test`, run
 * with `layout.root` as its working directory, load exactly the layout's
 * sources: the Rego under `root` and the data under `dataDir`, never `build/`,
 * and without `*_test.rego` unless `tests` is set. OPA applies `--ignore` below
 * the roots only, so `data/` is skipped inside `root` yet still loaded as a root
 * of its own. The paths are relative because OPA embeds them in policy.wasm: a
 * build must not depend on where the checkout is.
 */
export function opaLoadArgs(layout: PolicyLayout, options: { tests: boolean }): string[] {
  const args = ignoredDirs.flatMap((name) => ["--ignore", name]);
  if (!options.tests) args.push("--ignore", `*${testSuffix}`);
  args.push(".");
  if (existsSync(layout.dataDir)) args.push(relative(layout.root, layout.dataDir).split(sep).join("/"));
  return args;
}

/**
 * The files a build reads, as sorted POSIX paths relative to `layout.root`: the
 * same set {@link opaLoadArgs} makes OPA load (Rego, JSON and YAML; no tests).
 */
export function listPolicySources(layout: PolicyLayout): string[] {
  const files = new Set<string>();
  const walk = (dir: string, depth: number): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!ignoredDirs.includes(entry.name)) walk(path, depth + 1);
      } else if (loadedExtensions.some((ext) => entry.name.endsWith(ext)) && !entry.name.endsWith(testSuffix)) {
        files.add(relative(layout.root, path).split(sep).join("/"));
      }
    }
  };
  walk(layout.root, 0);
  if (existsSync(layout.dataDir)) walk(layout.dataDir, 0);
  return [...files].sort();
}

/**
 * `sha256:<hex>` over the sources, reproducible with coreutils: the SHA-256 of the
 * `sha256sum`-style listing (`<hex of file>  <path>\n` per file, in
 * {@link listPolicySources} order, i.e. `LC_ALL=C sort`), so
 * `cd policy && sha256sum <those files> | sha256sum` prints the same hex. A
 * renamed file changes the digest as well as an edited one.
 */
export function policyDigest(layout: PolicyLayout, files: readonly string[]): string {
  const listing = files
    .map((file) => `${createHash("sha256").update(readFileSync(join(layout.root, file))).digest("hex")}  ${file}\n`)
    .join("");
  return `sha256:${createHash("sha256").update(listing).digest("hex")}`;
}
