/**
 * The delegation chain is signed by the mesh: the gateway signs each forwarded
 * task's chain into its hop token, a sub-delegation proves its chain with that
 * token, and neither a caller nor a handler can forge, shorten or re-budget it.
 * A real gateway and three agents on loopback, each offering one step intent, so
 * a task can walk alpha -> beta -> gamma through the gateway. The chain step (4)
 * comes before policy (5), and the step intents are not in the policy's data, so
 * every service here fills the policy slot with the no-policy step: what answers
 * is the chain's own checks.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import type { ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { DelegateRequestSchema, DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import {
  agentAudience, approvalKey, budgetHeader, callerKey, chainHeader, chainKey, chainProofKey, createGrpcClient, createHopTokenIssuer, defineIntent,
  emptyChain, errorDetailOf, forwardedCallerHeader, forwardedRoleHeader, hopTokenKey, loadSigningKey,
} from "../mesh/index.js";
import type { DelegationChain, GrantedApproval, GrpcClient, HopClaims, HopTokenIssuer, Identity, IntentDefinition, MeshCall } from "../mesh/index.js";
import { createChainInterceptor } from "../mesh/interceptors/chain.js";
import { createNoPolicyInterceptor } from "../mesh/interceptors/policy-slot.js";
import { meshCall } from "./support/mesh-call.js";
import { rejection } from "./support/rejection.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

interface StepOutputs {
  depth: number;
  maxCostMicros: string;
  child?: unknown;
}

/** A step: reports its depth and cost cap, and delegates the rest of `next` onward. */
function step(name: string): IntentDefinition<never, never> {
  return defineIntent<{ next: string[] }, StepOutputs>({
    name,
    description: "Reports where it runs on the chain, then hands the next step on.",
    inputSchema: { type: "object", required: ["next"], properties: { next: { type: "array", items: { type: "string" } } } },
    outputSchema: { type: "object" },
    tools: [],
    requiredScopes: [],
    async handle(inputs, ctx) {
      const outputs: StepOutputs = { depth: ctx.depth, maxCostMicros: String(ctx.constraints?.maxCostMicros ?? 0n) };
      const [intent, ...rest] = inputs.next;
      if (intent !== undefined) {
        const child = await ctx.delegate({ key: "next", intent, inputs: { next: rest } });
        outputs.child = child.outputs ?? null;
      }
      return { outputs, rationale: "stepped", evidence: [], confidence: 1, toolCalls: 0 };
    },
  }) as IntentDefinition<never, never>;
}

let mesh: TestMesh;
let client: GrpcClient;
let alice: string;
let auditor: string;
let alpha: string;
let hopToken: HopTokenIssuer;

beforeAll(async () => {
  const noPolicy = createNoPolicyInterceptor();
  mesh = await startTestMesh({}, { alpha: ["chain.a"], beta: ["chain.b"], gamma: ["chain.c"] }, noPolicy);
  await mesh.startAgent("alpha", [step("chain.a")], {}, noPolicy);
  await mesh.startAgent("beta", [step("chain.b")], {}, noPolicy);
  await mesh.startAgent("gamma", [step("chain.c")], {}, noPolicy);
  client = createGrpcClient(mesh.grpcAddress);
  [alice, auditor, alpha] = await Promise.all([mesh.token(), mesh.token("audrey", "auditor"), mesh.token("alpha", "worker")]);
  // The mesh's one key signs for every service today, so the test can mint what the gateway would.
  hopToken = createHopTokenIssuer(await loadSigningKey(join(mesh.home, "keys", "signing-key.jwk.json")), { subject: "gateway" });
});

afterAll(async () => {
  client.close();
  await mesh.stop();
});

let seq = 0;
const id = (p: string) => `${p}-${++seq}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const delegate = (on: GrpcClient, taskId: string, intent: string, next: string[], metadata: Record<string, string>) =>
  on.unary(DelegationService.method.delegate, { taskId, intent, inputs: { next } }, { metadata, deadline: Date.now() + 10_000 });
const refusal = (err: ConnectError) => [err.code, err.rawMessage, errorDetailOf(err)?.reason];

/** The chain alpha's own task runs under when the supervisor handed it chain.a at depth 1. */
const parentChain = (budget: DelegationChain["budget"] = emptyChain.budget): DelegationChain => ({ hops: [{ agent: "supervisor", intent: "campaign.launch", taskId: "root" }], budget });
const proofFor = (agent: string, chain = parentChain()) => hopToken(agent, { chain, taskId: "root.a", intent: "chain.a" }, Date.now() + 60_000);

describe("sub-delegations through the real gateway", () => {
  it("carry depth and ancestors two hops deep", async () => {
    const taskId = id("walk");
    const res = await delegate(client, taskId, "chain.a", ["chain.b", "chain.c"], bearer(alice));
    expect([res.result?.state, res.result?.outputs]).toEqual([
      TaskState.COMPLETED, { depth: 0, maxCostMicros: "0", child: { depth: 1, maxCostMicros: "0", child: { depth: 2, maxCostMicros: "0" } } },
    ]);
    const read = (t: string) => client.unary(DelegationService.method.getResult, { taskId: t }, { metadata: bearer(auditor) });
    const results = await Promise.all([taskId, `${taskId}.next`, `${taskId}.next.next`].map(read));
    expect(results.map((r) => [r.agent, r.intent, r.depth])).toEqual([["alpha", "chain.a", 0], ["beta", "chain.b", 1], ["gamma", "chain.c", 2]]);
  });

  it("refuse a cycle two hops deep with FAILED_PRECONDITION chain_cycle, naming every ancestor", async () => {
    const res = await delegate(client, id("loop"), "chain.a", ["chain.b", "chain.a"], bearer(alice));
    const beta = res.result?.subtasks[0];
    expect([beta?.intent, beta?.agent, beta?.state, beta?.error?.code, beta?.error?.reason, beta?.error?.message]).toEqual([
      "chain.b", "beta", TaskState.FAILED, "failed_precondition", "chain_cycle",
      "delegation cycle: alpha is already executing chain.a on this chain (alpha(chain.a) -> beta(chain.b) -> alpha(chain.a))",
    ]);
    expect(beta?.subtasks.map((s) => [s.intent, s.state, s.error?.reason])).toEqual([["chain.a", TaskState.FAILED, "chain_cycle"]]);
  });
});

describe("a worker delegating to the gateway", () => {
  it("continues the chain its proof carries, adding its own task", async () => {
    const taskId = id("proven");
    const res = await delegate(client, taskId, "chain.c", [], { ...bearer(alpha), [chainHeader]: await proofFor("alpha") });
    expect([res.result?.state, res.result?.depth, res.result?.outputs]).toEqual([TaskState.COMPLETED, 2, { depth: 2, maxCostMicros: "0" }]);
  });

  it.each<[string, () => Promise<Record<string, string>>, string, string]>([
    ["an unsigned chain header", () => Promise.resolve({ [chainHeader]: Buffer.from(JSON.stringify({ v: 1, hops: [] })).toString("base64url") }),
      "the agentmesh-chain header is not a delegation chain signed by the mesh: malformed token", "chain_invalid"],
    ["no proof, to start over at depth 0", () => Promise.resolve({}),
      "alpha is an agent of the mesh: an agent delegates only within a task it was given, so the agentmesh-chain header must carry the gateway's token for that task", "chain_missing"],
    ["a proof the gateway issued to another agent", async () => ({ [chainHeader]: await proofFor("beta") }),
      "the delegation chain in the agentmesh-chain header was issued to agentmesh:beta, not to the caller (agentmesh:alpha)", "chain_invalid"],
  ])("is refused UNAUTHENTICATED for %s", async (_name, headers, message, reason) => {
    const err = await rejection(delegate(client, id("forged"), "chain.c", [], { ...bearer(alpha), ...(await headers()) }));
    expect(refusal(err)).toEqual([Code.Unauthenticated, message, reason]);
  });

  it("refuses an agent in the supervisor role that leaves its proof out (it may not start over at depth 0)", async () => {
    const asSupervisor = await mesh.token("alpha", "supervisor");
    const err = await rejection(delegate(client, id("reset"), "chain.c", [], bearer(asSupervisor)));
    expect(refusal(err)).toEqual([Code.Unauthenticated, "alpha is an agent of the mesh: an agent delegates only within a task it was given, so the agentmesh-chain header must carry the gateway's token for that task", "chain_missing"]);
    // A person in the supervisor role still starts chains.
    const res = await delegate(client, id("person"), "chain.c", [], bearer(await mesh.token("alice", "supervisor")));
    expect(res.result?.depth).toBe(0);
  });

  it.each<[string, string | undefined, string]>([
    ["sends no budget", undefined, "100"],
    ["claims more than the proof allows", "money_micros=5000", "100"],
    ["lowers it", "money_micros=40", "40"],
  ])("cannot raise the budget its proof allows: when it %s the task is budgeted %s", async (_name, header, budget) => {
    // beta runs chain.b under the budget the gateway admitted and passes what is left on to gamma as its cost cap.
    const proof = await proofFor("alpha", parentChain({ moneyMicros: 100n, tokens: undefined }));
    const metadata = { ...bearer(alpha), [chainHeader]: proof, ...(header === undefined ? {} : { [budgetHeader]: header }) };
    const res = await delegate(client, id("budget"), "chain.b", ["chain.c"], metadata);
    expect(res.result?.outputs).toEqual({ depth: 2, maxCostMicros: "0", child: { depth: 3, maxCostMicros: budget } });
  });
});

describe("an agent called directly", () => {
  let gamma: GrpcClient;
  beforeAll(() => {
    gamma = createGrpcClient(mesh.gateway.table.pick("chain.c")[0]!.address);
  });
  afterAll(() => gamma.close());

  const asAlice = { [forwardedCallerHeader]: "alice", [forwardedRoleHeader]: "supervisor" };
  const hop = (taskId: string, chain: DelegationChain = parentChain()): HopClaims => ({ chain, taskId, intent: "chain.c" });

  it("takes the chain from the gateway's hop token and ignores the chain header", async () => {
    const taskId = id("hop");
    const token = await hopToken("gamma", hop(taskId), Date.now() + 60_000);
    const res = await delegate(gamma, taskId, "chain.c", [], { ...bearer(token), ...asAlice, [chainHeader]: "forged" });
    expect([res.result?.state, res.result?.depth]).toEqual([TaskState.COMPLETED, 1]);
  });

  it.each<[string, (taskId: string) => Promise<Record<string, string>>, string, string]>([
    ["a worker that skips the gateway to start over", () => Promise.resolve(bearer(alpha)),
      "alpha is an agent of the mesh: an agent delegates only within a task it was given, so the agentmesh-chain header must carry the gateway's token for that task", "chain_missing"],
    ["a gateway token with no chain", async () => ({ ...bearer(await mesh.token("gateway", "gateway", 300, agentAudience("gamma"))), ...asAlice }),
      "the gateway's token carries no delegation chain: a forwarded Delegate needs the token the gateway mints for its task", "chain_missing"],
    ["a hop token replayed for another task", async () => ({ ...bearer(await hopToken("gamma", hop("someone-else"), undefined)), ...asAlice }),
      "the gateway's token was issued for task someone-else, not for task TASK", "chain_invalid"],
  ])("refuses UNAUTHENTICATED %s", async (_name, metadata, message, reason) => {
    const taskId = id("direct");
    const err = await rejection(delegate(gamma, taskId, "chain.c", [], await metadata(taskId)));
    expect(refusal(err)).toEqual([Code.Unauthenticated, message.replace("TASK", taskId), reason]);
  });

  it("refuses a hop token for anything but the Delegate of its task", async () => {
    const token = await hopToken("gamma", hop(id("t")), undefined);
    const err = await rejection(gamma.unary(DelegationService.method.getResult, { taskId: "any" }, { metadata: { ...bearer(token), ...asAlice } }));
    expect(refusal(err)).toEqual([Code.Unauthenticated, "invalid bearer token: a gateway token issued for a task is good only for delegating that task", "token_invalid"]);
  });
});

describe("the chain step", () => {
  const approval: GrantedApproval = { approvalId: "ap-1", approver: "hannah", digest: "sha256:abc" };
  const gatewayCaller: Identity = { subject: "alice", role: "supervisor", expiresAt: 2_000_000_000, via: "gateway" };

  /** Runs the chain step on a Delegate of `taskId` and returns the approval and chain it left for the next step. */
  async function runChainStep(taskId: string, values: (call: MeshCall) => void) {
    const call = meshCall(DelegationService.method.delegate, create(DelegateRequestSchema, { taskId, intent: "chain.c" }));
    values(call);
    let seen: [GrantedApproval | undefined, DelegationChain | undefined] | undefined;
    await createChainInterceptor({ limits: { maxDepth: 4 }, agentName: "gamma" })((c) => {
      seen = [c.values.get(approvalKey), c.values.get(chainKey)];
      return Promise.resolve({});
    })(call);
    return seen;
  }

  it("sets the approval of a hop token that names the request's task", async () => {
    const seen = await runChainStep("t-1", (call) => {
      call.values.set(callerKey, gatewayCaller);
      call.values.set(hopTokenKey, { token: "hop", claims: { chain: parentChain(), taskId: "t-1", intent: "chain.c", approval } });
    });
    expect(seen).toEqual([approval, parentChain()]);
  });

  it("refuses a hop token that names another task, and sets no approval", async () => {
    const err = await rejection(runChainStep("t-2", (call) => {
      call.values.set(callerKey, gatewayCaller);
      call.values.set(hopTokenKey, { token: "hop", claims: { chain: parentChain(), taskId: "t-1", intent: "chain.c", approval } });
    }));
    expect(refusal(err)).toEqual([Code.Unauthenticated, "the gateway's token was issued for task t-1, not for task t-2", "chain_invalid"]);
  });

  it("never takes an approval from a caller's proof: it covered the caller's task, not this one", async () => {
    const seen = await runChainStep("t-3", (call) => {
      call.values.set(callerKey, { subject: "alpha", role: "worker", expiresAt: 2_000_000_000 });
      call.values.set(chainProofKey, { chain: parentChain(), taskId: "t-3", intent: "chain.a", approval });
    });
    expect(seen).toEqual([undefined, { hops: [...parentChain().hops, { agent: "alpha", intent: "chain.a", taskId: "t-3" }], budget: emptyChain.budget }]);
  });
});
