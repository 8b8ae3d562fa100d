// npm run policy:build / policy:check / policy:test (scripts/policy.ts) on a
// small policy written here, with the real OPA CLI and the real opa-wasm SDK.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadPolicy } from "@open-policy-agent/opa-wasm";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { testToolPath } from "../tools/test-tools.js";
import { repoRoot } from "../tools/index.js";

// A policy that uses a JS-implemented builtin (sprintf), a natively compiled one
// added after the SDK's own capabilities.json (object.keys) and a template string.
const sources: Record<string, string> = {
  "agentmesh/decision.rego": `# METADATA
# title: The test decision
package agentmesh

import data.agentmesh.limits

default allow := false

allow if {
	input.caller.role in object.keys(data.agentmesh.config.roles)
	not limits.over
}

reasons contains {"code": "role_not_allowed", "message": sprintf("%s may not delegate", [input.caller.role])} if not allow

reasons contains {"code": "over", "message": $"{input.usage.calls} calls"} if limits.over

decision := {"allow": allow, "reasons": reasons, "revision": data.agentmesh.config.revision}
`,
  "agentmesh/decision_test.rego": `package agentmesh_test

import data.agentmesh

test_allow_supervisor if agentmesh.decision.allow with input as {"caller": {"role": "supervisor"}, "usage": {"calls": 0}}

test_deny_auditor if not agentmesh.decision.allow with input as {"caller": {"role": "auditor"}, "usage": {"calls": 0}}

test_deny_over if "over" in {r.code | some r in agentmesh.decision.reasons} with input as {"caller": {"role": "supervisor"}, "usage": {"calls": 9}}
`,
  "agentmesh/limits/limits.rego": `package agentmesh.limits

over if input.usage.calls >= data.agentmesh.config.max_calls
`,
  "data/agentmesh/config/data.json": `{"revision": "test-rev-1", "roles": {"supervisor": {}}, "max_calls": 3}\n`,
};

const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function writePolicy(files: Record<string, string> = sources): string {
  const root = mkdtempSync(join(tmpdir(), "agentmesh-policy-"));
  temps.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

async function policyCommand(command: string, root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "scripts/policy.ts", command, "--policy", root], { cwd: repoRoot }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

const built = (root: string, name: string) => readFileSync(join(root, "build", name));
const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

beforeAll(() => {
  testToolPath("opa"); // fail every test here, with the reason, when OPA could not be had
});

describe("npm run policy:build", () => {
  it("writes policy.wasm, data.json and a manifest naming the data's revision and the sources' digest", async () => {
    const root = writePolicy();
    expect(await policyCommand("build", root)).toMatchObject({ code: 0, stderr: "" });

    // The digest is reproducible with coreutils: `sha256sum <sorted sources> | sha256sum`.
    const listing = ["agentmesh/decision.rego", "agentmesh/limits/limits.rego", "data/agentmesh/config/data.json"]
      .map((file) => `${sha256(readFileSync(join(root, file)))}  ${file}\n`)
      .join("");
    const opaVersion = /github\.com\/open-policy-agent\/opa (v\S+)/.exec(readFileSync(join(repoRoot, "tools/opa/go.mod"), "utf8"))?.[1];
    expect(JSON.parse(built(root, "manifest.json").toString())).toEqual({
      revision: "test-rev-1",
      digest: `sha256:${sha256(listing)}`,
      opa: opaVersion,
      entrypoints: ["agentmesh/decision"],
    });
    expect(JSON.parse(built(root, "data.json").toString())).toEqual({
      agentmesh: { config: { revision: "test-rev-1", roles: { supervisor: {} }, max_calls: 3 } },
    });
  });

  it("builds identical bytes twice", async () => {
    const a = writePolicy();
    const b = writePolicy();
    expect((await policyCommand("build", a)).code).toBe(0);
    expect((await policyCommand("build", b)).code).toBe(0);
    for (const name of ["policy.wasm", "data.json", "manifest.json"]) expect(built(a, name).equals(built(b, name)), name).toBe(true);
  });

  it("produces Wasm the opa-wasm SDK evaluates, JS builtins included", async () => {
    const root = writePolicy();
    expect((await policyCommand("build", root)).code).toBe(0);
    const policy = await loadPolicy(built(root, "policy.wasm"));
    policy.setData(JSON.parse(built(root, "data.json").toString()) as object);
    const decide = (input: object) => (policy.evaluate(input, "agentmesh/decision") as [{ result: unknown }])[0].result;
    expect(decide({ caller: { role: "supervisor" }, usage: { calls: 0 } })).toEqual({ allow: true, reasons: [], revision: "test-rev-1" });
    expect(decide({ caller: { role: "auditor" }, usage: { calls: 5 } })).toEqual({
      allow: false,
      reasons: [
        { code: "over", message: "5 calls" },
        { code: "role_not_allowed", message: "auditor may not delegate" },
      ],
      revision: "test-rev-1",
    });
  });

  it("refuses a builtin the opa-wasm SDK cannot run", async () => {
    const root = writePolicy({ ...sources, "agentmesh/limits/limits.rego": "package agentmesh.limits\n\nover if time.now_ns() > 0\n" });
    const result = await policyCommand("build", root);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("limits.rego:3: rego_type_error: undefined function time.now_ns");
  });
});

describe("npm run policy:check", () => {
  it("passes on a fresh build and names the stale files after a source changes", async () => {
    const root = writePolicy();
    expect((await policyCommand("build", root)).code).toBe(0);
    expect(await policyCommand("check", root)).toMatchObject({ code: 0, stderr: "" });

    writeFileSync(join(root, "agentmesh/limits/limits.rego"), "package agentmesh.limits\n\nover if input.usage.calls > data.agentmesh.config.max_calls\n");
    const result = await policyCommand("check", root);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/build is stale: run npm run policy:build and commit \(differs: policy\.wasm, manifest\.json\)\n$/);
  });
});

describe("npm run policy:test", () => {
  it("passes formatted, strict, tested and covered policy", async () => {
    const result = await policyCommand("test", writePolicy());
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toBe("opa fmt: formatted\nopa check --strict: ok\nPASS: 3/3\ncoverage: 100.0% of 8 policy lines (floor 90%)\n");
  });

  it.each([
    ["unformatted Rego", { "agentmesh/limits/limits.rego": "package agentmesh.limits\n\nover if   input.usage.calls >= data.agentmesh.config.max_calls\n" }, "not formatted the way opa fmt wants (run npm run policy:fmt), in "],
    ["a failing test", { "agentmesh/x_test.rego": "package x_test\n\ntest_fails if false\n" }, "opa test failed"],
    ["coverage under the floor", { "agentmesh/decision_test.rego": "package agentmesh_test\n\nimport data.agentmesh\n\ntest_allow_supervisor if agentmesh.allow with input as {\"caller\": {\"role\": \"supervisor\"}, \"usage\": {\"calls\": 0}}\n" }, "(floor 90%)"],
  ])("fails on %s", async (_what, change, message) => {
    const result = await policyCommand("test", writePolicy({ ...sources, ...change }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
  });
});
