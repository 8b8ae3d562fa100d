import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildFixturePolicy, fixtureData } from "../../test/support/policy-fixture.js";
import { recordingLogger } from "../../test/support/mesh-call.js";
import type { PolicyInput } from "./policy-contract.js";
import { loadPolicyBundle } from "./policy-engine.js";
import type { PolicyEngine } from "./policy-engine.js";
import { PolicyBundleError, PolicyEvaluationError } from "./policy-errors.js";
import { createReloadingPolicy } from "./reloading-policy.js";
import type { ReloadingPolicy } from "./reloading-policy.js";

let root: string;
let built: string;
let digest: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "policy-engine-"));
  built = await buildFixturePolicy(join(root, "source"), fixtureData("r1"));
  digest = (JSON.parse(readFileSync(join(built, "manifest.json"), "utf8")) as { digest: string }).digest;
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

let copies = 0;
/** A copy of the built bundle that a test may break. */
const copyOfBundle = () => {
  const dir = join(root, `copy-${++copies}`);
  cpSync(built, dir, { recursive: true });
  return dir;
};

const input = (intent = "test.echo", role = "supervisor"): PolicyInput => ({
  now_ms: 1_795_564_521_000,
  service: { name: "gateway", kind: "gateway" },
  caller: { subject: "alice", role },
  target: { agent: "" },
  request: { task_id: "t-1", intent, input_digest: "sha256:00", data_class: "unspecified", allowed_tools: [], max_cost_micros: 0, max_tokens: 0 },
  chain: { depth: 0, hops: [], budget: { money_micros: null, tokens: null } },
  usage: { window_seconds: 60, calls: 0, spend_micros: 0 },
  approval: { granted: false, approver: "" },
  flags: {},
});

const echoQuota = { window_seconds: 10, max_calls: 3, max_spend_micros: 1_000_000 };

describe("loadPolicyBundle", () => {
  it("loads a built bundle, reports its manifest and decides with its data", async () => {
    const engine = await loadPolicyBundle(built);
    expect({ revision: engine.revision, digest: engine.digest }).toEqual({ revision: "r1", digest });
    expect(engine.evaluate(input())).toEqual({ allow: true, requires_approval: false, reasons: [], quota: echoQuota, revision: "r1" });
    expect(engine.evaluate(input("test.echo", "auditor"))).toEqual({
      allow: false,
      requires_approval: false,
      reasons: [{ code: "role_not_allowed", message: "role auditor may not delegate", status: "PERMISSION_DENIED" }],
      quota: echoQuota,
      revision: "r1",
    });
  });

  it.each<[string, (dir: string) => void, string]>([
    ["a missing policy.wasm", (dir) => rmSync(join(dir, "policy.wasm")), "cannot read policy.wasm (ENOENT: no such file or directory, open '<dir>/policy.wasm')"],
    ["Wasm that is not a module", (dir) => writeFileSync(join(dir, "policy.wasm"), "garbage"), "policy.wasm is not a policy module (WebAssembly.instantiate(): expected magic word 00 61 73 6d, found 67 61 72 62 @+0)"],
    ["data that is not an object", (dir) => writeFileSync(join(dir, "data.json"), "[]"), "data.json is not a JSON object"],
    ["a manifest without a revision", (dir) => writeFileSync(join(dir, "manifest.json"), '{"digest": "sha256:00"}'), "manifest.json has no revision"],
    ["a manifest whose digest is not a string", (dir) => writeFileSync(join(dir, "manifest.json"), '{"revision": "r1", "digest": 7}'), "manifest.json: digest is not a string"],
  ])("refuses a bundle with %s, naming the directory and the problem", async (_what, breakBundle, problem) => {
    const dir = copyOfBundle();
    breakBundle(dir);
    const err = await loadPolicyBundle(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyBundleError);
    expect((err as Error).message).toBe(`cannot load the policy bundle in ${dir}: ${problem.replace("<dir>", dir)}`);
  });

  it("refuses data that is not JSON, with the parser's complaint", async () => {
    const dir = copyOfBundle();
    writeFileSync(join(dir, "data.json"), "{");
    const err = await loadPolicyBundle(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyBundleError);
    // The parser's own words differ between Node versions.
    expect((err as Error).message).toMatch(new RegExp(`^cannot load the policy bundle in ${dir}: data\\.json is not JSON \\(.+\\)$`));
  });

  it("refuses a bundle compiled without the agentmesh/decision entry point", async () => {
    const other = await buildFixturePolicy(join(root, "other-entry"), fixtureData("r1"), { rego: "package other\n\ndecision := {}\n", entrypoint: "other/decision" });
    const err = await loadPolicyBundle(other).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyBundleError);
    expect((err as Error).message).toBe(`cannot load the policy bundle in ${other}: policy.wasm has no entry point agentmesh/decision (it has: other/decision)`);
  });
});

describe("PolicyEngine.evaluate", () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = await loadPolicyBundle(built);
  });

  it.each([
    ["test.undefined", "the policy returned no decision (data.agentmesh.decision is undefined for this input)"],
    ["test.malformed", "the policy's decision is malformed: allow is not a boolean"],
  ])("fails closed on %s with PolicyEvaluationError", (intent, message) => {
    expect(() => engine.evaluate(input(intent))).toThrow(new PolicyEvaluationError(message));
  });

  it("asks for approval of a high-risk intent without a granted approval", () => {
    expect(engine.evaluate(input("test.publish"))).toEqual({
      allow: false,
      requires_approval: true,
      reasons: [{ code: "approval_required", message: "test.publish is high risk" }],
      quota: { window_seconds: 60, max_calls: 1000, max_spend_micros: 50_000_000 },
      revision: "r1",
    });
  });
});

describe("createReloadingPolicy", () => {
  const engines: ReloadingPolicy[] = [];
  afterEach(() => {
    for (const e of engines.splice(0)) e.close();
  });

  /** A policy source and its own build directory, so a test can rebuild it. */
  const freshSource = async (name: string) => {
    const source = join(root, name);
    return { source, dir: await buildFixturePolicy(source, fixtureData("r1")) };
  };

  it("reload() swaps in a rebuilt bundle and reports the new revision", async () => {
    const { source, dir } = await freshSource("reload-explicit");
    const reloads: string[] = [];
    const engine = await createReloadingPolicy(dir, { logger: recordingLogger(), watch: false, onReload: (now, before) => reloads.push(`${before.revision}->${now.revision}`) });
    engines.push(engine);
    await buildFixturePolicy(source, fixtureData("r2"));
    expect(await engine.reload()).toEqual({ kind: "reloaded", revision: "r2", previous: "r1" });
    expect(engine.revision).toBe("r2");
    expect(engine.evaluate(input()).revision).toBe("r2");
    expect(reloads).toEqual(["r1->r2"]);
  });

  it("keeps the running bundle when the new one does not load, and logs why", async () => {
    const dir = copyOfBundle();
    const logger = recordingLogger();
    const engine = await createReloadingPolicy(dir, { logger, watch: false });
    engines.push(engine);
    writeFileSync(join(dir, "policy.wasm"), "garbage");
    const outcome = await engine.reload();
    expect(outcome).toMatchObject({ kind: "failed", revision: "r1" });
    expect(engine.evaluate(input())).toEqual({ allow: true, requires_approval: false, reasons: [], quota: echoQuota, revision: "r1" });
    expect(logger.lines).toEqual([{
      level: "error",
      msg: "policy reload failed; the running bundle stays",
      fields: { revision: "r1", error: `cannot load the policy bundle in ${dir}: policy.wasm is not a policy module (WebAssembly.instantiate(): expected magic word 00 61 73 6d, found 67 61 72 62 @+0)` },
    }]);
  });

  it("notices a rebuild through manifest.json and reloads by itself", async () => {
    const { source, dir } = await freshSource("reload-watch");
    let reloaded!: (revision: string) => void;
    const seen = new Promise<string>((resolve) => (reloaded = resolve));
    const engine = await createReloadingPolicy(dir, { logger: recordingLogger(), debounceMs: 20, onReload: (now) => reloaded(now.revision) });
    engines.push(engine);
    await buildFixturePolicy(source, fixtureData("r2"));
    expect(await seen).toBe("r2");
    expect(engine.evaluate(input()).revision).toBe("r2");
  });

  it("refuses to start on a bundle that does not load", async () => {
    await expect(createReloadingPolicy(join(root, "nowhere"), { logger: recordingLogger() })).rejects.toThrow(PolicyBundleError);
  });
});
