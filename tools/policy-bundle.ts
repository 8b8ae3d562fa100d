import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { listPolicySources, opaLoadArgs, policyDigest } from "./policy-layout.js";
import type { PolicyLayout } from "./policy-layout.js";

const run = promisify(execFile);

/** The files of a built policy directory, written in this order (manifest last). */
export const policyBuildFiles = ["policy.wasm", "data.json", "manifest.json"] as const;

/** manifest.json: what was built, from what, with what. */
export interface PolicyManifest {
  /** The data's revision (`agentmesh.config.revision`, else `agentmesh.revision`); else the digest's first 12 hex digits. */
  revision: string;
  /** `sha256:<hex>` of the sources (see `policyDigest`). */
  digest: string;
  /** The OPA that compiled policy.wasm, e.g. `v1.22.2`. */
  opa: string;
  entrypoints: string[];
}

/** What {@link buildPolicyBundle} needs. */
export interface BuildPolicyOptions {
  /** The `opa` binary (see `toolPath("opa")`). */
  opa: string;
  layout: PolicyLayout;
  /** Where to write policy.wasm, data.json and manifest.json; default `layout.buildDir`. */
  outDir?: string;
}

/** Raised when the policy does not build; the message is OPA's (or says what is missing). */
export class PolicyBuildError extends Error {
  override readonly name = "PolicyBuildError";
}

/**
 * Compiles the layout's policy to Wasm (`opa build -t wasm`, held to the
 * layout's capabilities) and writes policy.wasm and data.json, taken from the
 * bundle, plus manifest.json. The output depends only on the sources and the OPA
 * version (no timestamps), so building twice gives identical bytes. Files whose
 * bytes are unchanged are left alone; the others are replaced by rename, the
 * manifest last, so a process watching the directory (the reloading policy
 * engine) sees a complete bundle when the manifest changes.
 * Throws {@link PolicyBuildError} when there is no Rego or OPA refuses the policy.
 */
export async function buildPolicyBundle(options: BuildPolicyOptions): Promise<PolicyManifest> {
  const { opa, layout } = options;
  const outDir = options.outDir ?? layout.buildDir;
  const sources = listPolicySources(layout);
  if (!sources.some((file) => file.endsWith(".rego"))) {
    throw new PolicyBuildError(`no Rego policy under ${layout.root} (looked for *.rego outside data/ and build/, tests excluded)`);
  }
  const work = await mkdtemp(join(tmpdir(), "agentmesh-policy-build-"));
  try {
    const bundle = join(work, "bundle.tar.gz");
    const args = ["build", "--target", "wasm", ...layout.entrypoints.flatMap((e) => ["--entrypoint", e])];
    args.push("--capabilities", layout.capabilities, "--output", bundle, ...opaLoadArgs(layout, { tests: false }));
    await runTool(opa, args, "opa build", { cwd: layout.root });
    const extracted = join(work, "bundle");
    await mkdir(extracted);
    await runTool("tar", ["-xzf", bundle, "-C", extracted], "tar");
    const wasm = await readFile(join(extracted, "policy.wasm"));
    const data = await readFile(join(extracted, "data.json"));
    const digest = policyDigest(layout, sources);
    const manifest: PolicyManifest = {
      revision: dataRevision(data) ?? digest.slice("sha256:".length, "sha256:".length + 12),
      digest,
      opa: await opaVersion(opa),
      entrypoints: [...layout.entrypoints],
    };
    await mkdir(outDir, { recursive: true });
    await replaceIfChanged(outDir, "policy.wasm", wasm);
    await replaceIfChanged(outDir, "data.json", data);
    await replaceIfChanged(outDir, "manifest.json", Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    return manifest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The version `opa version` reports, as `v1.22.2`. */
export async function opaVersion(opa: string): Promise<string> {
  const { stdout } = await runTool(opa, ["version"], "opa version");
  const version = /^Version: (\S+)$/m.exec(stdout)?.[1];
  if (version === undefined) throw new PolicyBuildError(`cannot read the version from '${opa} version'`);
  return version.startsWith("v") ? version : `v${version}`;
}

/** Runs a tool (in `options.cwd`, default this process's); a non-zero exit becomes a {@link PolicyBuildError} carrying its output. */
export async function runTool(file: string, args: string[], what: string, options: { cwd?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(file, args, { maxBuffer: 64 * 1024 * 1024, ...options });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const output = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim();
    throw new PolicyBuildError(`${what} failed:\n${output || e.message}`, { cause: err });
  }
}

function dataRevision(data: Buffer): string | undefined {
  const doc = JSON.parse(data.toString("utf8")) as { agentmesh?: { revision?: unknown; config?: { revision?: unknown } } };
  for (const revision of [doc.agentmesh?.config?.revision, doc.agentmesh?.revision]) {
    if (typeof revision === "string" && revision !== "") return revision;
  }
  return undefined;
}

async function replaceIfChanged(dir: string, name: string, bytes: Buffer): Promise<void> {
  const path = join(dir, name);
  if (existsSync(path) && (await readFile(path)).equals(bytes)) return;
  const temp = join(dir, `.${name}.${process.pid}.tmp`);
  await writeFile(temp, bytes);
  await rename(temp, path);
}
