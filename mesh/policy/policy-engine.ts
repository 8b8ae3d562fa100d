/**
 * The policy engine: a compiled Rego bundle run with `@open-policy-agent/opa-wasm`.
 * This is the only module that touches the SDK (STYLE.md rule 17): it loads a
 * bundle at start, sets its data, and turns every evaluation into a checked
 * decision or a `PolicyEvaluationError`, never a thrown string.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadPolicy } from "@open-policy-agent/opa-wasm";
import type { LoadedPolicy } from "@open-policy-agent/opa-wasm";
import { checkDecision } from "./policy-contract.js";
import type { ContractDecision, PolicyInput } from "./policy-contract.js";
import { PolicyBundleError, PolicyEvaluationError, thrownMessage } from "./policy-errors.js";

/** The entry point every bundle must have: `data.agentmesh.decision`. */
export const policyEntrypoint = "agentmesh/decision";

/** The files of a built bundle directory (`npm run policy:build` writes them to policy/build/). */
export const bundleFiles = { wasm: "policy.wasm", data: "data.json", manifest: "manifest.json" } as const;

/** A loaded bundle, ready to decide. */
export interface PolicyEngine {
  /** The bundle's revision, from manifest.json. */
  readonly revision: string;
  /** The bundle's digest, from manifest.json ("" when it names none). */
  readonly digest: string;
  /**
   * Evaluates `data.agentmesh.decision` for `input`. Throws `PolicyEvaluationError`
   * when the SDK fails or the result is not a decision of the contract's shape
   * (an undefined decision included): the caller must refuse, not admit.
   */
  evaluate(input: PolicyInput): ContractDecision;
}

/**
 * Loads the bundle in `dir` (policy.wasm, data.json, manifest.json), compiles the
 * Wasm and sets its data. Throws `PolicyBundleError` naming the directory and what
 * is wrong: a missing or unreadable file, a manifest without a revision, data that
 * is not a JSON object, Wasm that does not compile, or no `agentmesh/decision`
 * entry point.
 */
export async function loadPolicyBundle(dir: string): Promise<PolicyEngine> {
  const fail = (problem: string, cause?: unknown) => new PolicyBundleError(`cannot load the policy bundle in ${dir}: ${problem}`, { cause });
  const read = async (name: string) => {
    try {
      return await readFile(join(dir, name));
    } catch (err) {
      throw fail(`cannot read ${name} (${thrownMessage(err)})`, err);
    }
  };
  // One after the other, so a bundle missing several files always names the same one first.
  const wasm = await read(bundleFiles.wasm);
  const dataText = await read(bundleFiles.data);
  const manifestText = await read(bundleFiles.manifest);
  const manifest = parseJsonObject(manifestText, bundleFiles.manifest, fail);
  if (typeof manifest.revision !== "string" || manifest.revision === "") throw fail(`${bundleFiles.manifest} has no revision`);
  const digest = manifest.digest ?? "";
  if (typeof digest !== "string") throw fail(`${bundleFiles.manifest}: digest is not a string`);
  const data = parseJsonObject(dataText, bundleFiles.data, fail);

  let policy: LoadedPolicy;
  try {
    policy = await loadPolicy(wasm);
  } catch (err) {
    throw fail(`${bundleFiles.wasm} is not a policy module (${thrownMessage(err)})`, err);
  }
  const entrypoint = (policy.entrypoints as Record<string, number>)[policyEntrypoint];
  if (entrypoint === undefined) {
    throw fail(`${bundleFiles.wasm} has no entry point ${policyEntrypoint} (it has: ${Object.keys(policy.entrypoints as object).join(", ") || "none"})`);
  }
  try {
    policy.setData(data);
  } catch (err) {
    throw fail(`setting ${bundleFiles.data} failed (${thrownMessage(err)})`, err);
  }
  return {
    revision: manifest.revision,
    digest,
    evaluate(input) {
      let resultSet: unknown;
      try {
        resultSet = policy.evaluate(input, entrypoint);
      } catch (err) {
        throw new PolicyEvaluationError(`policy evaluation failed: ${thrownMessage(err)}`, { cause: err });
      }
      return checkDecision(resultSet);
    },
  };
}

function parseJsonObject(text: Buffer, name: string, fail: (problem: string, cause?: unknown) => PolicyBundleError): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text.toString("utf8"));
  } catch (err) {
    throw fail(`${name} is not JSON (${thrownMessage(err)})`, err);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw fail(`${name} is not a JSON object`);
  return value as Record<string, unknown>;
}
