/**
 * The committed policy bundle (policy/build) deciding over a real mesh: a gateway
 * and agents on loopback, each evaluating the bundle through AGENTMESH_POLICY_DIR,
 * called over gRPC with grpc-js. One row per decision: allowed; refused with its
 * exact status, `ErrorDetail.reason` and `policy_reasons`, the handler never run;
 * held for a human, who alone decides; and a bundle replaced while the mesh runs.
 *
 * A cycle, a used-up budget, a chain too deep for the mesh and a forged chain are
 * refused by the mesh's own chain checks (step 4, and the gateway's routing for
 * the cycle) before the policy's rules for them could decide, so those refusals
 * carry no `policy_reasons`. The policy's depth cap is lower than the mesh's:
 * one depth over it waits for a human, the next is refused.
 *
 * The agents serve the real intents (summarizer, copywriter, publisher) with
 * handlers that also write the execution log; worker-a serves the test intents.
 * "ghostwriter" serves `copy.draft` without the tool scopes the data gives the
 * copywriter. A worker's sub-delegation carries the proof of its task's chain as
 * its runtime would: the gateway's hop token, minted here with the mesh's key.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ApprovalDecision, ApprovalState } from "../gen/agentmesh/v1/approval_pb.js";
import type { Approval } from "../gen/agentmesh/v1/approval_pb.js";
import { AuditService } from "../gen/agentmesh/v1/audit_pb.js";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequestSchema } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import { budgetHeader, chainHeader, createGrpcClient, createHopTokenIssuer, errorDetailOf, loadSigningKey, unlimitedBudget } from "../mesh/index.js";
import type { Budget, ChainHop, GrpcClient, HopTokenIssuer, Role, RunningAgent } from "../mesh/index.js";
import { draftCopyDefinition } from "../services/copywriter/agent.js";
import { publishDefinition } from "../services/publisher/agent.js";
import { summarizeDefinition } from "../services/summarizer/agent.js";
import { approver, createApprovalDesk, decisionReason } from "./support/approval-desk.js";
import type { ApprovalDesk } from "./support/approval-desk.js";
import { buildRealPolicy, bundleRevision, committedBundleDir, committedPolicyData, quotaOf } from "./support/real-policy.js";
import { recorded } from "./support/recorded-intent.js";
import { rejection } from "./support/rejection.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import type { ExecutionLog } from "./support/test-intents.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

type Req = MessageInitShape<typeof DelegateRequestSchema> & { taskId: string };
interface Caller {
  readonly subject: string;
  readonly role: Role;
}

const alice: Caller = { subject: "alice", role: "supervisor" };
const workerA: Caller = { subject: "worker-a", role: "worker" };
const data = committedPolicyData();
const revision = bundleRevision(committedBundleDir);
const testIntentNames = testIntents(createExecutionLog()).map((i) => i.name);
/**
 * The mesh's own depth limit (step 4), set one above the policy's approval cap
 * so that one depth is held for a human and the next is refused.
 */
const meshMaxDepth = data.chain.max_depth + 1;

/** A mesh under one bundle, with a client on its gateway and approvals there. */
interface Fixture {
  readonly mesh: TestMesh;
  readonly client: GrpcClient;
  readonly desk: ApprovalDesk;
  readonly log: ExecutionLog;
  /** Delegates `req` through the gateway as `as`, with `headers` besides the bearer token. */
  delegate(req: Req, as?: Caller, headers?: Record<string, string>): Promise<Result>;
  /** How many times the handler of `taskId` ran. */
  runs(taskId: string): number;
  close(): Promise<void>;
}

async function startFixture(bundleDir: string, offers: Record<string, readonly string[]>): Promise<Fixture> {
  const mesh = await startTestMesh({ AGENTMESH_POLICY_DIR: bundleDir, AGENTMESH_MAX_DEPTH: String(meshMaxDepth) }, offers);
  const client = createGrpcClient(mesh.grpcAddress);
  const log = createExecutionLog();
  return {
    mesh, client, log,
    desk: createApprovalDesk(client, (subject, role) => mesh.token(subject, role)),
    async delegate(req, as = alice, headers = {}) {
      const metadata = { authorization: `Bearer ${await mesh.token(as.subject, as.role)}`, ...headers };
      return (await client.unary(DelegationService.method.delegate, req, { metadata, deadline: Date.now() + 10_000 })).result!;
    },
    runs: (taskId) => log.entries.filter((e) => e === taskId).length,
    async close() {
      client.close();
      await mesh.stop();
    },
  };
}

let f: Fixture;
let hopToken: HopTokenIssuer;
let outbox: string;
let publisherAgent: RunningAgent;

beforeAll(async () => {
  f = await startFixture(committedBundleDir, {
    "worker-a": testIntentNames, summarizer: ["docs.summarize"], ghostwriter: ["copy.draft"], publisher: ["content.publish"],
  });
  outbox = join(f.mesh.home, "outbox");
  await f.mesh.startAgent("worker-a", testIntents(f.log));
  await f.mesh.startAgent("summarizer", [recorded(summarizeDefinition, f.log)]);
  await f.mesh.startAgent("ghostwriter", [recorded(draftCopyDefinition, f.log)]);
  publisherAgent = await f.mesh.startAgent("publisher", [recorded(publishDefinition(outbox), f.log)]);
  // The mesh's one key signs for every service today, so the test can mint what the gateway would.
  hopToken = createHopTokenIssuer(await loadSigningKey(join(f.mesh.home, "keys", "signing-key.jwk.json")), { subject: "gateway" });
});

afterAll(async () => {
  await f.close();
});

let seq = 0;
const id = (prefix: string) => `matrix-${prefix}-${++seq}`;
const echo = (taskId: string, constraints: Req["constraints"] = {}): Req => ({ taskId, intent: "test.echo", inputs: { text: "hi" }, constraints });
const publish = (taskId: string, body = "Beacon ships today."): Req => ({ taskId, intent: "content.publish", inputs: { channel: "blog", title: "Beacon", body } });

/** The supervisor's task worker-a's sub-delegations start from unless a row says otherwise. */
const root: ChainHop = { agent: "supervisor", intent: "campaign.launch", taskId: "job-1" };

/**
 * The `agentmesh-chain` header worker-a's runtime sends when its task `job-1.relay`
 * (test.relay) delegates onward: the gateway's hop token of that task, on a chain
 * of `ancestors` with `budget` left.
 */
async function proofOfWorkerTask(ancestors: readonly ChainHop[] = [root], budget: Budget = unlimitedBudget): Promise<Record<string, string>> {
  return { [chainHeader]: await hopToken("worker-a", { chain: { hops: ancestors, budget }, taskId: "job-1.relay", intent: "test.relay" }, Date.now() + 60_000) };
}

/** `count` hops of other agents before worker-a's task: worker-a's sub-delegation then is at depth `count + 1`. */
const ancestorsOf = (count: number) => Array.from({ length: count }, (_, n): ChainHop => ({ agent: `agent-${n}`, intent: "test.relay", taskId: `job-1${".relay".repeat(n)}` }));

/** `token` with its payload's chain shortened to nothing and its signature kept: a forged chain. */
function withoutHops(token: string): string {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as { chain: { hops: unknown[] } };
  claims.chain.hops = [];
  return [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");
}

/** A refusal the mesh answers a Delegate with. */
interface RefusalRow {
  /** Sends the refused Delegate of `taskId` (after any calls the row needs first). */
  send(taskId: string): Promise<unknown>;
  readonly code: Code;
  readonly reason: string;
  readonly message: string;
  /** `ErrorDetail.policy_reasons` as [code, message]; empty when one of the mesh's own chain checks refused, not the policy. */
  readonly policyReasons: readonly (readonly [string, string])[];
  readonly metadata?: Record<string, unknown>;
}

const echoQuota = quotaOf(data, "test.echo");
const overQuota = `quinn made ${echoQuota.max_calls} calls to test.echo in the last ${echoQuota.window_seconds} s; the limit is ${echoQuota.max_calls}`;
const ghostwriterTools = ["template.render", "text.check-length"];
const lacksToolScope = (tool: string) => `agent ghostwriter lacks scope tool:${tool} for tool ${tool}, which copy.draft uses`;
const brief = { product: "Beacon", audience: "ops teams", tone: "friendly", channel: "email", keyMessages: ["tracks every parcel"], callToAction: "Try it" };
const notSigned = "the agentmesh-chain header is not a delegation chain signed by the mesh: signature verification failed";

describe("the committed policy bundle over a real mesh", () => {
  it("runs a low-risk intent and records the allowing decision with the bundle's revision on the result", async () => {
    const taskId = id("allow");
    const result = await f.delegate(echo(taskId));
    expect([result.state, result.outputs, result.decision?.allow, result.decision?.requiresApproval, result.decision?.reasons, result.decision?.revision]).toEqual([
      TaskState.COMPLETED, { text: "hi" }, true, false, [], revision,
    ]);
    expect(f.runs(taskId)).toBe(1);
  });

  it.each<[string, RefusalRow]>([
    ["an intent whose scope the caller lacks (at the gateway)", {
      send: async (taskId) => f.delegate({ taskId, intent: "docs.summarize", inputs: { documents: [{ title: "Note", text: "Beacon ships today." }] } }, workerA, await proofOfWorkerTask()),
      code: Code.PermissionDenied, reason: "scope_missing", message: "worker-a lacks scope docs:read required by docs.summarize",
      policyReasons: [["scope_missing", "worker-a lacks scope docs:read required by docs.summarize"]],
    }],
    ["an intent whose tools the serving agent's scopes do not cover (at the agent)", {
      send: (taskId) => f.delegate({ taskId, intent: "copy.draft", inputs: { brief } }),
      code: Code.PermissionDenied, reason: "tool_not_in_scope", message: ghostwriterTools.map(lacksToolScope).join("; "),
      policyReasons: ghostwriterTools.map((tool) => ["tool_not_in_scope", lacksToolScope(tool)] as const),
    }],
    ["a tool that constraints.allowed_tools leaves out", {
      send: (taskId) => f.delegate(echo(taskId, { allowedTools: ["search"] })),
      code: Code.PermissionDenied, reason: "tool_not_allowed", message: "the request's allowed tools exclude echo, which test.echo uses",
      policyReasons: [["tool_not_allowed", "the request's allowed tools exclude echo, which test.echo uses"]],
    }],
    [`the call after the quota's ${echoQuota.max_calls} calls in ${echoQuota.window_seconds} s`, {
      async send(taskId) {
        const quinn: Caller = { subject: "quinn", role: "supervisor" };
        for (let n = 0; n < echoQuota.max_calls; n += 20) {
          await Promise.all(Array.from({ length: Math.min(20, echoQuota.max_calls - n) }, (_, i) => f.delegate(echo(`${taskId}-before-${n + i}`), quinn)));
        }
        return f.delegate(echo(taskId), quinn);
      },
      code: Code.ResourceExhausted, reason: "quota_exceeded", message: overQuota,
      policyReasons: [["quota_exceeded", overQuota]],
      metadata: {
        limit: String(echoQuota.max_calls), limit_kind: "calls", window_seconds: String(echoQuota.window_seconds),
        retry_after_ms: expect.toSatisfy((ms: string) => Number(ms) > 0 && Number(ms) <= echoQuota.window_seconds * 1000),
      },
    }],
    ["a cycle: worker-a, running test.relay, delegates test.relay, which only worker-a offers", {
      send: async (taskId) => f.delegate({ taskId, intent: "test.relay", inputs: { intent: "test.echo", inputs: { text: "hi" } } }, workerA, await proofOfWorkerTask()),
      code: Code.FailedPrecondition, reason: "chain_cycle",
      message: "delegation cycle: worker-a is already executing test.relay on this chain (supervisor(campaign.launch) -> worker-a(test.relay) -> worker-a(test.relay))",
      policyReasons: [],
    }],
    ["a chain whose budget the caller says is used up (agentmesh-budget money_micros=0)", {
      send: (taskId) => f.delegate(echo(taskId), alice, { [budgetHeader]: "money_micros=0" }),
      code: Code.FailedPrecondition, reason: "budget_exhausted", message: "the delegation chain has no budget left for this task",
      policyReasons: [], metadata: { money_micros: "0", tokens: "unlimited" },
    }],
    ["a sub-delegation from a task whose signed chain has no budget left", {
      send: async (taskId) => f.delegate(echo(taskId), workerA, await proofOfWorkerTask([root], { moneyMicros: 0n, tokens: undefined })),
      code: Code.FailedPrecondition, reason: "budget_exhausted", message: "the delegation chain has no budget left for this task",
      policyReasons: [], metadata: { money_micros: "0", tokens: "unlimited" },
    }],
    [`a chain deeper than the mesh's own cap (AGENTMESH_MAX_DEPTH ${meshMaxDepth}), which no approval lifts`, {
      send: async (taskId) => f.delegate(echo(taskId), workerA, await proofOfWorkerTask(ancestorsOf(meshMaxDepth))),
      code: Code.FailedPrecondition, reason: "chain_too_deep", message: `delegation chain depth ${meshMaxDepth + 1} exceeds the limit of ${meshMaxDepth}`,
      policyReasons: [], metadata: { depth: String(meshMaxDepth + 1), limit: String(meshMaxDepth) },
    }],
    ["a forged chain: the proof's hops cut, its signature kept", {
      send: async (taskId) => f.delegate(echo(taskId), workerA, { [chainHeader]: withoutHops((await proofOfWorkerTask())[chainHeader]!) }),
      code: Code.Unauthenticated, reason: "chain_invalid", message: notSigned, policyReasons: [],
    }],
  ])("refuses %s", async (name, row) => {
    const taskId = id("refused");
    const err = await rejection(row.send(taskId));
    const detail = errorDetailOf(err);
    expect([err.code, err.rawMessage, detail?.reason, detail?.policyReasons.map((r) => [r.code, r.message])]).toEqual([row.code, row.message, row.reason, row.policyReasons]);
    if (row.metadata !== undefined) expect(detail?.metadata).toEqual(row.metadata);
    expect(f.runs(taskId)).toBe(0);
    // Every refusal is audited where it happened, also those before the policy step (chain, budget, forged proof).
    if (!name.includes("(at the agent)")) {
      const { records } = await f.client.unary(AuditService.method.queryDecisions, { taskId }, { metadata: { authorization: `Bearer ${await f.mesh.token("audrey", "auditor")}` } });
      expect(records.map((r) => [r.service, r.decision?.allow, r.decision?.reasons[0]?.code])).toContainEqual(["gateway", false, row.reason]);
    }
  });
});

/** Delegates `req` as alice on `fx`, which must be held; approves it as `approver` and returns the approval and the task's final result. */
async function heldThenApproved(fx: Fixture, req: Req): Promise<{ approval: Approval; result: Result }> {
  const held = await fx.delegate(req);
  expect([held.state, held.decision?.allow, held.decision?.requiresApproval]).toEqual([TaskState.AWAITING_APPROVAL, false, true]);
  expect(fx.runs(req.taskId)).toBe(0);
  const approval = await fx.desk.pending(req.taskId);
  const done = fx.desk.terminal(req.taskId);
  const decided = await fx.desk.decide(approval.approvalId, ApprovalDecision.APPROVE);
  expect([decided.approval?.state, decided.approval?.decidedBy, decided.approval?.decisionReason]).toEqual([ApprovalState.APPROVED, approver.subject, decisionReason]);
  return { approval, result: await done };
}

describe("tasks the committed policy sends to a human", () => {
  it(`holds a chain deeper than chain.max_depth (${data.chain.max_depth}) for approval, and runs it once approved`, async () => {
    const taskId = id("deep");
    const depth = data.chain.max_depth + 1;
    const held = await f.delegate(echo(taskId), workerA, await proofOfWorkerTask(ancestorsOf(data.chain.max_depth)));
    const why = `the chain is ${depth} hops deep, over the cap of ${data.chain.max_depth}: it goes on only with a human approval`;
    expect([held.state, held.decision?.reasons.map((r) => [r.code, r.message]), held.decision?.revision]).toEqual([TaskState.AWAITING_APPROVAL, [["approval_required", why]], revision]);
    const approval = await f.desk.pending(taskId);
    expect([approval.requestedBy, approval.depth, approval.targets, approval.policyRevision]).toEqual(["worker-a", depth, ["worker-a"], revision]);
    const done = f.desk.terminal(taskId);
    await f.desk.decide(approval.approvalId, ApprovalDecision.APPROVE);
    const result = await done;
    expect([result.state, result.depth, result.outputs]).toEqual([TaskState.COMPLETED, depth, { text: "hi" }]);
    expect(f.runs(taskId)).toBe(1);
  });

  it("holds content.publish (high risk) until an approver approves, then publishes once", async () => {
    const taskId = id("publish");
    const { approval, result } = await heldThenApproved(f, publish(taskId));
    expect([result.state, result.agent, result.outputs?.alreadyPublished, result.outputs?.outboxPath]).toEqual([TaskState.COMPLETED, "publisher", false, expect.stringContaining(outbox)]);
    expect(JSON.parse(readFileSync(result.outputs!.outboxPath as string, "utf8"))).toMatchObject({ taskId, body: "Beacon ships today." });
    expect(f.runs(taskId)).toBe(1);
    // The result is the publisher's: its own decision, taken with the approval the gateway's hop token carried.
    expect([result.decision?.allow, result.decision?.revision]).toEqual([true, revision]);
    const publisher = createGrpcClient(`127.0.0.1:${publisherAgent.grpcPort}`);
    try {
      const { records } = await publisher.unary(AuditService.method.queryDecisions, { taskId }, { metadata: { authorization: `Bearer ${await f.mesh.token("audrey", "auditor")}` } });
      expect(records.map((r) => [r.service, r.approvalId, r.decision?.allow])).toEqual([["publisher", approval.approvalId, true]]);
    } finally {
      publisher.close();
    }
  });

  it("lists why it holds content.publish: the reason of the high-risk rule", async () => {
    const taskId = id("why");
    await f.delegate(publish(taskId));
    const approval = await f.desk.pending(taskId);
    expect([approval.intent, approval.requestedBy, approval.targets, approval.reasons.map((r) => [r.code, r.message]), approval.policyRevision]).toEqual([
      "content.publish", "alice", ["publisher"], [["approval_required", "content.publish is a high-risk intent: it runs only with a human approval"]], revision,
    ]);
  });

  it.each<[string, Caller]>([
    ["a worker", workerA],
    ["a supervisor", { subject: "supervisor", role: "supervisor" }],
  ])("refuses a decision by an agent, %s, with PERMISSION_DENIED and runs nothing", async (_name, agent) => {
    const taskId = id("agent-decides");
    await f.delegate(publish(taskId));
    const approval = await f.desk.pending(taskId);
    const err = await rejection(f.desk.decide(approval.approvalId, ApprovalDecision.APPROVE, agent));
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([
      Code.PermissionDenied, `only an approver (a human identity) may decide approvals; the caller's role is ${agent.role}`, "role_not_allowed",
    ]);
    expect((await f.desk.pending(taskId)).state).toBe(ApprovalState.PENDING);
    expect(f.runs(taskId)).toBe(0);
    // The attempt is on the record.
    const { records } = await f.client.unary(AuditService.method.queryDecisions, {}, { metadata: { authorization: `Bearer ${await f.mesh.token("audrey", "auditor")}` } });
    expect(records.filter((r) => r.approvalId === approval.approvalId).map((r) => [r.caller, r.approvalDecision, r.decision?.allow, r.decision?.reasons[0]?.code])).toEqual([[agent.subject, "refused", false, "role_not_allowed"]]);
  });

  it("refuses a changed request under an approved task id (approval_mismatch): the approval covers one exact request", async () => {
    const taskId = id("replay");
    const { result: first } = await heldThenApproved(f, publish(taskId, "Beacon ships today."));
    const published = readFileSync(first.outputs!.outboxPath as string, "utf8");
    const err = await rejection(f.delegate(publish(taskId, "Beacon ships today, half price.")));
    expect((await f.desk.approvals(taskId)).map((a) => a.state)).toEqual([ApprovalState.APPROVED]);
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([
      Code.FailedPrecondition, `task id ${taskId} holds an approval for a different request: a changed request needs a new approval under a new task id`, "approval_mismatch",
    ]);
    expect(f.runs(taskId)).toBe(1);
    expect(readFileSync(first.outputs!.outboxPath as string, "utf8")).toBe(published);
  });

  it("ends content.publish REJECTED when the approver denies it, and runs nothing", async () => {
    const taskId = id("denied");
    await f.delegate(publish(taskId));
    await f.desk.decide((await f.desk.pending(taskId)).approvalId, ApprovalDecision.DENY);
    const result = await f.desk.terminal(taskId);
    expect([result.state, result.error?.reason, result.error?.message]).toEqual([TaskState.REJECTED, "approval_denied", `denied by ${approver.subject}: ${decisionReason}`]);
    expect(f.runs(taskId)).toBe(0);
  });
});

describe("a bundle replaced while the mesh runs", () => {
  let dir: string;
  let reload: Fixture;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "agentmesh-matrix-reload-"));
    cpSync(committedBundleDir, join(dir, "bundle"), { recursive: true });
    reload = await startFixture(join(dir, "bundle"), { "worker-a": testIntentNames });
    await reload.mesh.startAgent("worker-a", testIntents(reload.log));
  });
  afterAll(async () => {
    await reload.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The revisions the gateway's audit log says it loaded, newest first. */
  async function loadedRevisions(): Promise<string[]> {
    const token = await reload.mesh.token("audrey", "auditor");
    const { records } = await reload.client.unary(AuditService.method.queryDecisions, {}, { metadata: { authorization: `Bearer ${token}` } });
    return records.filter((r) => r.decision?.reasons[0]?.code === "policy_loaded").map((r) => r.decision!.revision);
  }

  it("changes the decision and its revision without a restart", async () => {
    const before = id("reload-before");
    expect((await reload.delegate(echo(before))).decision?.revision).toBe(revision);

    const changed = committedPolicyData();
    changed.revision = `${revision}+matrix-reload`;
    changed.intents["test.echo"]!.required_scopes = ["test:reloaded"];
    await buildRealPolicy(changed, join(dir, "bundle"));
    const deadline = Date.now() + 10_000;
    while (!(await loadedRevisions()).includes(changed.revision) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await loadedRevisions()).toEqual([changed.revision, revision]);

    const after = id("reload-after");
    const err = await rejection(reload.delegate(echo(after)));
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([Code.PermissionDenied, "alice lacks scope test:reloaded required by test.echo", "scope_missing"]);
    const token = await reload.mesh.token("audrey", "auditor");
    const { records } = await reload.client.unary(AuditService.method.queryDecisions, { taskId: after }, { metadata: { authorization: `Bearer ${token}` } });
    expect(records.map((r) => [r.service, r.decision?.revision, r.decision?.reasons.map((x) => x.code)])).toEqual([["gateway", changed.revision, ["scope_missing"]]]);
    expect([reload.runs(before), reload.runs(after)]).toEqual([1, 0]);
  });
});

describe("an approval-gated intent past its quota (the committed Rego, content.publish limited to one call)", () => {
  let dir: string;
  let tight: Fixture;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "agentmesh-matrix-quota-"));
    const oneCall = committedPolicyData();
    oneCall.revision = `${revision}+one-publish`;
    oneCall.quotas.by_intent["content.publish"] = { ...quotaOf(oneCall, "content.publish"), max_calls: 1 };
    await buildRealPolicy(oneCall, join(dir, "bundle"));
    tight = await startFixture(join(dir, "bundle"), { publisher: ["content.publish"] });
    await tight.mesh.startAgent("publisher", [recorded(publishDefinition(join(dir, "outbox")), tight.log)]);
  });
  afterAll(async () => {
    await tight.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // An approved run passes the policy step again, so it counts against the quota.
  it("refuses the caller's next call at the gateway, before a human is asked", async () => {
    const { result } = await heldThenApproved(tight, publish(id("quota-first")));
    expect(result.state).toBe(TaskState.COMPLETED);
    const taskId = id("quota-second");
    const err = await rejection(tight.delegate(publish(taskId)));
    expect([err.code, errorDetailOf(err)?.reason]).toEqual([Code.ResourceExhausted, "quota_exceeded"]);
    expect(await tight.desk.approvals(taskId)).toEqual([]);
  });
});
