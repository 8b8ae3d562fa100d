/**
 * `agentmesh policy`: build, test and try the Rego policy (docs/policies.md).
 *
 *   agentmesh policy build [--policy DIR]                compile DIR (default policy/) into DIR/build
 *   agentmesh policy test [--policy DIR]                 opa fmt, opa check --strict, opa test, coverage floor
 *   agentmesh policy eval --input FILE [--bundle DIR] [--json]
 *                                                        the decision for one contract input
 *
 * `build` and `test` do what `npm run policy:build` and `npm run policy:test` do,
 * with the same pinned OPA: `build` calls the policy build (tools/), `test` runs
 * scripts/policy.ts, where the checks and the coverage floor are defined. Both
 * exit 0 on success and 1 on failure.
 *
 * `eval` evaluates a built bundle in-process with the mesh's own engine, as every
 * service does, and answers with its exit code:
 *
 * | exit | decision |
 * |---|---|
 * | 0 | allowed: the call would run |
 * | 1 | refused: the call would fail with the first refusing reason's status |
 * | 2 | held: the task would wait in AWAITING_APPROVAL for a human approver |
 * | 3 | no decision: unreadable input file or bundle, a policy error, a usage error |
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { loadPolicyBundle } from "../mesh/index.js";
import type { ContractDecision, PolicyEngine, PolicyInput } from "../mesh/index.js";
import { buildPolicyBundle, createPolicyLayout, repoRoot, toolPath } from "../tools/index.js";

/** Exit codes of `agentmesh policy eval`, by outcome. */
export const evalExitCodes = { allowed: 0, refused: 1, held: 2, noDecision: 3 } as const;

/** The top-level fields of the policy input (docs/policy-contract.md, "Input"). */
const inputFields = ["now_ms", "service", "caller", "target", "request", "chain", "usage", "approval", "flags"];

/** Adds the `policy` command and its subcommands to `program`. */
export function registerPolicyCommands(program: Command): void {
  const policy = program.command("policy").description("build, test and try the Rego policy (docs/policies.md)");
  const policyDirOption = "the policy directory: Rego packages, data/ and build/";

  policy
    .command("build")
    .description("compile the policy to Wasm into <policy>/build (policy.wasm, data.json, manifest.json), as npm run policy:build does")
    .option("--policy <dir>", policyDirOption, join(repoRoot, "policy"))
    .action(async (o: { policy: string }) => {
      const layout = createPolicyLayout(repoRoot, resolve(o.policy));
      const manifest = await buildPolicyBundle({ opa: await toolPath("opa"), layout });
      process.stdout.write(`${shown(layout.buildDir)}: revision ${manifest.revision}, ${manifest.digest}, built by opa ${manifest.opa}\n`);
    });

  policy
    .command("test")
    .description("opa fmt, opa check --strict, opa test and the coverage floor, as npm run policy:test does")
    .option("--policy <dir>", policyDirOption, join(repoRoot, "policy"))
    .action(async (o: { policy: string }) => {
      process.exitCode = await runPolicyScript("test", resolve(o.policy));
    });

  policy
    .command("eval")
    .description("print the decision of a built bundle for a policy input file (JSON, docs/policy-contract.md); exit 0 allowed, 1 refused, 2 held for approval, 3 no decision")
    .requiredOption("--input <file>", "the policy input, a JSON object")
    .option("--bundle <dir>", "a built bundle (policy.wasm, data.json, manifest.json)", join(repoRoot, "policy", "build"))
    .option("--json", "print the decision object as the policy returned it")
    // A usage error is no decision either: keep exit 1 for "refused".
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : evalExitCodes.noDecision))
    .action(async (o: { input: string; bundle: string; json?: boolean }) => {
      try {
        const input = await readPolicyInput(o.input);
        const engine = await loadPolicyBundle(resolve(o.bundle));
        const decision = engine.evaluate(input as unknown as PolicyInput);
        process.stdout.write(o.json === true ? `${JSON.stringify(decision, null, 2)}\n` : formatDecision(decision, engine, o.bundle));
        process.exitCode = evalExitCodes[outcome(decision).kind];
      } catch (err) {
        process.stderr.write(`agentmesh: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = evalExitCodes.noDecision;
      }
    });
}

/** What the mesh does with a decision (docs/policy-contract.md, "Rules for the mesh"; mesh/policy/policy-refusal.ts). */
type Outcome = { kind: "allowed" } | { kind: "held" } | { kind: "refused"; status: string; reason: string };

function outcome(d: ContractDecision): Outcome {
  if (d.allow) return { kind: "allowed" };
  const refusing = d.reasons.find((r) => r.status !== undefined);
  if (d.requires_approval && refusing === undefined) return { kind: "held" };
  const deciding = refusing ?? d.reasons[0];
  return { kind: "refused", status: deciding?.status ?? "PERMISSION_DENIED", reason: deciding?.code ?? "policy_denied" };
}

/** The decision as a person reads it: the outcome, every reason, the quota and the bundle. */
function formatDecision(d: ContractDecision, engine: PolicyEngine, bundle: string): string {
  const o = outcome(d);
  const lines = [
    o.kind === "allowed" ? "allowed: the call runs" : o.kind === "held" ? "held for approval: the task waits in AWAITING_APPROVAL for an approver" : `refused: ${o.status} (reason: ${o.reason})`,
  ];
  for (const r of d.reasons) lines.push(`  - ${r.code}${r.status === undefined ? "" : ` [${r.status}]`}: ${r.message}`);
  if (d.quota !== undefined) {
    const limits = [d.quota.max_calls === undefined ? "" : `${d.quota.max_calls} calls`, d.quota.max_spend_micros === undefined ? "" : `${d.quota.max_spend_micros} micros`];
    lines.push(`quota: ${limits.filter((l) => l !== "").join(", ") || "no limit"} per ${d.quota.window_seconds} s for caller × intent`);
  }
  lines.push(`revision: ${d.revision || engine.revision} (bundle ${shown(resolve(bundle))}${engine.digest === "" ? "" : `, ${engine.digest}`})`);
  return `${lines.join("\n")}\n`;
}

/**
 * Reads a policy input file: a JSON object. Fields the contract does not name
 * are allowed (the policy ignores them) but warned about, since a misspelt
 * field reads as a missing one. Throws naming the file and what is wrong.
 */
async function readPolicyInput(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read the policy input ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`the policy input ${file} is not JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`the policy input ${file} is not a JSON object (see "Input" in docs/policy-contract.md)`);
  }
  const unknown = Object.keys(value).filter((k) => !inputFields.includes(k));
  if (unknown.length > 0) {
    process.stderr.write(`warning: ${file}: ${unknown.join(", ")} ${unknown.length === 1 ? "is" : "are"} not in the policy input contract (${inputFields.join(", ")})\n`);
  }
  return value as Record<string, unknown>;
}

/** Runs `scripts/policy.ts <command> --policy <dir>` with this Node and tsx, output passed through; resolves to its exit code. */
async function runPolicyScript(command: string, policyDir: string): Promise<number> {
  const script = join(repoRoot, "scripts", "policy.ts");
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), script, command, "--policy", policyDir], { stdio: "inherit" });
  return new Promise((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise(code ?? (signal === null ? 1 : 128)));
  });
}

/** `path` relative to the working directory, as the npm scripts print paths. */
function shown(path: string): string {
  return relative(process.cwd(), path) || ".";
}
