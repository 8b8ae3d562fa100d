/**
 * The policy's build and checks (npm run policy:<command>):
 *
 *   build         compile policy/ to policy/build/ (policy.wasm, data.json, manifest.json)
 *   check         fail when the committed policy/build differs from a fresh build
 *   test          opa fmt, opa check --strict, opa test with a coverage floor
 *   fmt           rewrite policy/**\/*.rego the way opa fmt wants it
 *   capabilities  regenerate tools/opa/capabilities.json (after an OPA or SDK bump)
 *
 * `--policy <dir>` works on another policy directory (its build goes to <dir>/build).
 * OPA comes from scripts/install-tool.sh, built on first use.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import {
  buildPolicyBundle,
  createOpaCapabilities,
  createPolicyLayout,
  opaLoadArgs,
  policyBuildFiles,
  PolicyBuildError,
  repoRoot,
  runTool,
  toolPath,
  ToolUnavailableError,
} from "../tools/index.js";
import type { PolicyLayout } from "../tools/index.js";

/** `opa test --coverage` must reach this share of the policy's lines (tests excluded). */
const coverageFloor = 90;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { policy: { type: "string" }, sdk: { type: "string" } },
});
const command = positionals[0] ?? "";
const layout = createPolicyLayout(repoRoot, values.policy === undefined ? undefined : resolve(values.policy));
const show = (path: string) => relative(process.cwd(), path) || ".";

const commands: Record<string, () => Promise<void>> = {
  async build() {
    const manifest = await buildPolicyBundle({ opa: await toolPath("opa"), layout });
    console.log(`${show(layout.buildDir)}: revision ${manifest.revision}, ${manifest.digest}, built by opa ${manifest.opa}`);
  },

  async check() {
    const fresh = await mkdtemp(join(tmpdir(), "agentmesh-policy-check-"));
    try {
      await buildPolicyBundle({ opa: await toolPath("opa"), layout, outDir: fresh });
      const stale: string[] = [];
      for (const name of policyBuildFiles) {
        const committed = join(layout.buildDir, name);
        if (!existsSync(committed)) stale.push(`${name} (missing)`);
        else if (!(await readFile(committed)).equals(await readFile(join(fresh, name)))) stale.push(name);
      }
      if (stale.length > 0) {
        fail(`${show(layout.buildDir)} is stale: run npm run policy:build and commit (differs: ${stale.join(", ")})`);
      }
      console.log(`${show(layout.buildDir)} matches the sources`);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  },

  async test() {
    const opa = await toolPath("opa");
    const unformatted = await runOpa(opa, ["fmt", "--list", "--fail", "."]);
    if (unformatted.code !== 0) {
      fail(`not formatted the way opa fmt wants (run npm run policy:fmt), in ${show(layout.root)}:\n${unformatted.output}`);
    }
    console.log("opa fmt: formatted");
    const check = await runOpa(opa, ["check", "--strict", ...opaLoadArgs(layout, { tests: true })]);
    if (check.code !== 0) fail(`opa check --strict failed:\n${check.output}`);
    console.log("opa check --strict: ok");
    const tests = await runOpa(opa, ["test", "--fail-on-empty", ...opaLoadArgs(layout, { tests: true })]);
    console.log(tests.output);
    if (tests.code !== 0) fail("opa test failed");
    await checkCoverage(opa, layout);
  },

  async fmt() {
    const opa = await toolPath("opa");
    await runTool(opa, ["fmt", "--write", "."], "opa fmt", { cwd: layout.root });
  },

  async capabilities() {
    const opa = await toolPath("opa");
    const sdkDir = resolve(values.sdk ?? join(repoRoot, "node_modules", "@open-policy-agent", "opa-wasm"));
    const report = await createOpaCapabilities({ opa, opaModuleDir: await opaModuleDir(), sdkDir });
    await writeFile(layout.capabilities, `${JSON.stringify(report.capabilities, null, 2)}\n`);
    console.log(`${show(layout.capabilities)}: ${report.capabilities.builtins.length} builtins`);
    console.log(`  native in OPA's Wasm: ${report.wasmNative.length}; implemented by the SDK in JS: ${report.sdkBuiltins.join(", ")}`);
    console.log(`  listed by the SDK's capabilities.json yet implemented nowhere: ${report.sdkListedButMissing.join(", ") || "none"}`);
    console.log(`  left out (${report.dropped.length}): ${report.dropped.join(" ")}`);
  },
};

async function checkCoverage(opa: string, layout: PolicyLayout): Promise<void> {
  const result = await runOpa(opa, ["test", "--coverage", "--format", "json", ...opaLoadArgs(layout, { tests: true })]);
  if (result.code !== 0) fail(`opa test --coverage failed:\n${result.output}`);
  const report = JSON.parse(result.stdout) as { files: Record<string, { covered_lines?: number; not_covered_lines?: number }> };
  let covered = 0;
  let total = 0;
  const below: string[] = [];
  for (const [file, counts] of Object.entries(report.files)) {
    if (file.endsWith("_test.rego")) continue;
    const fileCovered = counts.covered_lines ?? 0;
    const fileTotal = fileCovered + (counts.not_covered_lines ?? 0);
    covered += fileCovered;
    total += fileTotal;
    const share = fileTotal === 0 ? 100 : (100 * fileCovered) / fileTotal;
    if (share < coverageFloor) below.push(`  ${show(resolve(layout.root, file))}: ${share.toFixed(1)}%`);
  }
  const share = total === 0 ? 0 : (100 * covered) / total;
  const line = `coverage: ${share.toFixed(1)}% of ${total} policy lines (floor ${coverageFloor}%)`;
  if (share < coverageFloor) fail(`${line}\n${below.join("\n")}`);
  console.log(line);
}

async function runOpa(opa: string, args: string[]): Promise<{ code: number; stdout: string; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(opa, args, { cwd: layout.root, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, output: `${stdout}${stderr}`.trim() };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", output: `${e.stdout ?? ""}${e.stderr ?? e.message}`.trim() };
  }
}

async function opaModuleDir(): Promise<string> {
  const { stdout } = await promisify(execFile)("go", ["mod", "download", "-json", "github.com/open-policy-agent/opa"], {
    cwd: join(repoRoot, "tools", "opa"),
    env: { ...process.env, GOWORK: "off", GOFLAGS: "-mod=readonly" },
  });
  return (JSON.parse(stdout) as { Dir: string }).Dir;
}

/** A check failed; its message is the whole report (no stack). */
class PolicyCommandError extends Error {
  override readonly name = "PolicyCommandError";
}

function fail(message: string): never {
  throw new PolicyCommandError(message);
}

try {
  const action = commands[command];
  if (action === undefined) {
    fail(`usage: node --import tsx scripts/policy.ts <${Object.keys(commands).join("|")}> [--policy <dir>] [--sdk <dir>]`);
  }
  await action();
} catch (err) {
  if (!(err instanceof PolicyCommandError || err instanceof PolicyBuildError || err instanceof ToolUnavailableError)) throw err;
  console.error(err.message);
  process.exitCode = 1;
}
