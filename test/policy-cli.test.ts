/**
 * `agentmesh policy build|test|eval` as a user runs them: the real CLI process,
 * real input files, the committed bundle (policy/build) and a copy of policy/
 * built and tested with the pinned OPA.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPolicyLayout, listPolicySources, policyDigest, repoRoot } from "../tools/index.js";

const dir = mkdtempSync(join(tmpdir(), "agentmesh-policy-cli-"));
const env = { ...process.env, AGENTMESH_HOME: join(dir, "home"), FORCE_COLOR: "0" };
const committed = JSON.parse(readFileSync(join(repoRoot, "policy", "build", "manifest.json"), "utf8")) as { revision: string; digest: string; opa: string };

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `agentmesh <args>` from the repository root; resolves with its exit code and output, whatever the code. */
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/agentmesh.js", ...args], { cwd: repoRoot, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
  });
}

/** The supervisor's copy.draft step of job-1 as the copywriter sees it (docs/policy-contract.md, "Input"). */
const copyDraft = {
  now_ms: 1795564521000,
  service: { name: "copywriter", kind: "agent" },
  caller: { subject: "supervisor", role: "supervisor", via: "gateway" },
  target: { agent: "copywriter" },
  request: { task_id: "job-1.draft", intent: "copy.draft", input_digest: "sha256:00", data_class: "internal", allowed_tools: [], max_cost_micros: 0, max_tokens: 0 },
  chain: { depth: 1, hops: [{ agent: "supervisor", intent: "campaign.launch", task_id: "job-1" }], budget: { money_micros: 5000000, tokens: null } },
  usage: { window_seconds: 60, calls: 3, spend_micros: 120 },
  approval: { granted: false, approver: "" },
  flags: {},
};

/** At the gateway: routing comes after policy, so there is no target yet. */
const atGateway = { service: { name: "gateway", kind: "gateway" }, target: { agent: "" } };

/** Writes `value` (JSON unless a string) to `name` in the test's directory and returns the path. */
function inputFile(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value, null, 2));
  return path;
}

const bundleLine = `revision: ${committed.revision} (bundle policy/build, ${committed.digest})`;
const defaultQuota = "quota: 120 calls, 50000000 micros per 60 s for caller × intent";

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("agentmesh policy eval", () => {
  it.each([
    {
      name: "allows the supervisor's copy.draft at the copywriter, exit 0",
      input: copyDraft,
      code: 0,
      stdout: ["allowed: the call runs", defaultQuota, bundleLine],
    },
    {
      name: "refuses an auditor's delegation with the first reason's status, exit 1",
      input: { ...copyDraft, ...atGateway, caller: { subject: "audrey", role: "auditor" } },
      code: 1,
      stdout: [
        "refused: PERMISSION_DENIED (reason: role_not_allowed)",
        "  - role_not_allowed [PERMISSION_DENIED]: role auditor may not delegate tasks",
        "  - scope_missing [PERMISSION_DENIED]: audrey lacks scope copy:write required by copy.draft",
        defaultQuota,
        bundleLine,
      ],
    },
    {
      name: "holds a high-risk content.publish for approval, exit 2",
      input: { ...copyDraft, ...atGateway, request: { ...copyDraft.request, task_id: "job-1.publish", intent: "content.publish" } },
      code: 2,
      stdout: [
        "held for approval: the task waits in AWAITING_APPROVAL for an approver",
        "  - approval_required: content.publish is a high-risk intent: it runs only with a human approval",
        "quota: 20 calls, 5000000 micros per 3600 s for caller × intent",
        bundleLine,
      ],
    },
  ])("$name", async ({ input, code, stdout }) => {
    const run = await cli("policy", "eval", "--input", inputFile("input.json", input));
    expect(run).toEqual({ code, stdout: `${stdout.join("\n")}\n`, stderr: "" });
  });

  it("prints the decision object with --json", async () => {
    const run = await cli("policy", "eval", "--input", inputFile("copy-draft.json", copyDraft), "--json");
    expect([run.code, run.stderr, JSON.parse(run.stdout)]).toEqual([0, "", {
      allow: true,
      requires_approval: false,
      reasons: [],
      quota: { window_seconds: 60, max_calls: 120, max_spend_micros: 50000000 },
      revision: committed.revision,
    }]);
  });

  it("warns about fields the contract does not name, and still decides", async () => {
    const { request, ...rest } = copyDraft;
    const run = await cli("policy", "eval", "--input", inputFile("typo.json", { ...rest, reqest: request }));
    expect([run.code, run.stderr, run.stdout.split("\n")[0]]).toEqual([
      1,
      `warning: ${join(dir, "typo.json")}: reqest is not in the policy input contract (now_ms, service, caller, target, request, chain, usage, approval, flags)\n`,
      "refused: PERMISSION_DENIED (reason: intent_unknown)",
    ]);
  });

  it.each([
    { name: "not JSON", file: "broken.json", content: '{"caller": ', message: (p: string) => `the policy input ${p} is not JSON: Unexpected end of JSON input` },
    { name: "not an object", file: "list.json", content: "[1, 2]", message: (p: string) => `the policy input ${p} is not a JSON object (see "Input" in docs/policy-contract.md)` },
  ])("exits 3 and names the file when the input is $name", async ({ file, content, message }) => {
    const path = inputFile(file, content);
    expect(await cli("policy", "eval", "--input", path)).toEqual({ code: 3, stdout: "", stderr: `agentmesh: ${message(path)}\n` });
  });

  it("exits 3 when the input file does not exist", async () => {
    const path = join(dir, "missing.json");
    expect(await cli("policy", "eval", "--input", path)).toEqual({
      code: 3, stdout: "", stderr: `agentmesh: cannot read the policy input ${path}: ENOENT: no such file or directory, open '${path}'\n`,
    });
  });

  it("exits 3 when the bundle cannot be loaded", async () => {
    const bundle = join(dir, "no-bundle");
    expect(await cli("policy", "eval", "--input", inputFile("copy-draft.json", copyDraft), "--bundle", bundle)).toEqual({
      code: 3, stdout: "", stderr: `agentmesh: cannot load the policy bundle in ${bundle}: cannot read policy.wasm (ENOENT: no such file or directory, open '${join(bundle, "policy.wasm")}')\n`,
    });
  });

  it("exits 3, not 1, on a usage error", async () => {
    expect(await cli("policy", "eval")).toEqual({ code: 3, stdout: "", stderr: "error: required option '--input <file>' not specified\n" });
  });
});

describe("agentmesh policy build and test", () => {
  const copy = join(dir, "policy");
  beforeAll(() => {
    cpSync(join(repoRoot, "policy"), copy, { recursive: true, filter: (src) => src !== join(repoRoot, "policy", "build") });
  });

  it("builds a policy directory into its build/ and prints what it built; eval runs on it", async () => {
    const layout = createPolicyLayout(repoRoot, copy);
    const digest = policyDigest(layout, listPolicySources(layout));
    const revision = (JSON.parse(readFileSync(join(copy, "data", "agentmesh", "config", "data.json"), "utf8")) as { revision: string }).revision;
    const build = await cli("policy", "build", "--policy", copy);
    expect([build.code, build.stdout]).toEqual([0, `${relative(repoRoot, layout.buildDir)}: revision ${revision}, ${digest}, built by opa ${committed.opa}\n`]);
    const run = await cli("policy", "eval", "--input", inputFile("copy-draft.json", copyDraft), "--bundle", layout.buildDir, "--json");
    expect([run.code, (JSON.parse(run.stdout) as { revision: string }).revision]).toEqual([0, revision]);
  });

  it("runs fmt, check, the tests and the coverage floor, exit 0", async () => {
    const run = await cli("policy", "test", "--policy", copy);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect([lines[0], lines[1], lines.at(-2), lines.at(-1)]).toEqual([
      "opa fmt: formatted",
      "opa check --strict: ok",
      expect.stringMatching(/^PASS: (\d+)\/\1$/),
      expect.stringMatching(/^coverage: \d+\.\d% of \d+ policy lines \(floor 90%\)$/),
    ]);
  });

  it("exits 1 with OPA's report when a test fails", async () => {
    writeFileSync(join(copy, "failing_test.rego"), "package failing_test\n\ntest_fails if {\n\t1 == 2\n}\n");
    try {
      const run = await cli("policy", "test", "--policy", copy);
      expect([run.code, run.stderr, run.stdout.includes("data.failing_test.test_fails: FAIL")]).toEqual([1, "opa test failed\n", true]);
    } finally {
      rmSync(join(copy, "failing_test.rego"));
    }
  });
});
