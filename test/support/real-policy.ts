/**
 * The project's own policy for tests: the committed bundle (policy/build), the
 * committed data, and builds of the real Rego under policy/ with other data (a
 * tiny quota, a changed rule for a hot reload) through the project's pipeline
 * (tools/policy-bundle.ts: the pinned OPA, its Wasm capabilities). Where
 * policy-fixture.ts replaces the Rego, this keeps it and replaces the data only.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { buildPolicyBundle } from "../../tools/policy-bundle.js";
import type { PolicyManifest } from "../../tools/policy-bundle.js";
import { createPolicyLayout } from "../../tools/policy-layout.js";
import { repoRoot, toolPath } from "../../tools/tool-path.js";

/** The committed policy directory, whose sources the builds here compile. */
const policyRoot = join(repoRoot, "policy");

/** The committed bundle: AGENTMESH_POLICY_DIR for a mesh under the real policy. */
export const committedBundleDir = join(policyRoot, "build");

/** A quota of the data (`quotas.default`, or the fields `quotas.by_intent.<intent>` overrides). */
export interface QuotaData {
  window_seconds: number;
  max_calls: number;
  max_spend_micros: number;
}

/** The parts of `data.agentmesh.config` tests read or change; the rest passes through. */
export interface PolicyData {
  revision: string;
  intents: Record<string, { risk: string; required_scopes: string[]; tools: string[]; [key: string]: unknown }>;
  quotas: { default: QuotaData; by_intent: Record<string, Partial<QuotaData>> };
  chain: { max_depth: number };
  [key: string]: unknown;
}

/** A fresh copy of the committed data (policy/data/agentmesh/config/data.json), to read or to change. */
export function committedPolicyData(): PolicyData {
  return JSON.parse(readFileSync(join(policyRoot, "data", "agentmesh", "config", "data.json"), "utf8")) as PolicyData;
}

/** The quota `data` names for `intent`: the default with the intent's own fields over it. */
export function quotaOf(data: PolicyData, intent: string): QuotaData {
  return { ...data.quotas.default, ...data.quotas.by_intent[intent] };
}

/** The revision in a built bundle's manifest.json (what its decisions carry). */
export function bundleRevision(bundleDir: string): string {
  return (JSON.parse(readFileSync(join(bundleDir, "manifest.json"), "utf8")) as PolicyManifest).revision;
}

/**
 * Compiles the Rego under policy/ (tests excluded) with `data` as
 * `data.agentmesh.config` and writes the bundle into `outDir`, manifest last, so
 * a service watching `outDir` reloads it once it is complete. The sources are
 * copied into a temporary directory first: policy/ itself is never written.
 * Throws `PolicyBuildError` when OPA refuses the policy.
 */
export async function buildRealPolicy(data: PolicyData, outDir: string): Promise<PolicyManifest> {
  const root = mkdtempSync(join(tmpdir(), "agentmesh-real-policy-"));
  try {
    cpSync(policyRoot, root, {
      recursive: true,
      filter: (src) => src === policyRoot || !/^(build|data)$/.test(src.slice(policyRoot.length + 1).split("/")[0] ?? ""),
    });
    const dataPath = join(root, "data", "agentmesh", "config", "data.json");
    mkdirSync(dirname(dataPath), { recursive: true });
    writeFileSync(dataPath, JSON.stringify(data));
    return await buildPolicyBundle({ opa: await toolPath("opa", { progress: null }), layout: createPolicyLayout(repoRoot, root), outDir });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
