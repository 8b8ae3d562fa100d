/**
 * A pending approval survives a restart of the gateway that holds it: the
 * approval and its held task are journaled in the gateway's data dir, so a new
 * gateway on the same home lists the approval, runs the task once an approver
 * approves it, and answers GetResult with the result. The committed policy bundle
 * holds content.publish (high risk) for a human; the publisher serves the real
 * intent. The new gateway listens on the old one's port, so the publisher, which
 * keeps running, registers with it again by itself.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApprovalDecision, ApprovalState } from "../gen/agentmesh/v1/approval_pb.js";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { readGatewayConfig, startGateway } from "../gateway/index.js";
import type { RunningGateway } from "../gateway/index.js";
import { createGrpcClient, createLogger } from "../mesh/index.js";
import type { GrpcClient } from "../mesh/index.js";
import { publishDefinition } from "../services/publisher/agent.js";
import { createApprovalDesk } from "./support/approval-desk.js";
import type { TokenFor } from "./support/approval-desk.js";
import { committedBundleDir } from "./support/real-policy.js";
import { recorded } from "./support/recorded-intent.js";
import { createExecutionLog } from "./support/test-intents.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

const log = createExecutionLog();
let mesh: TestMesh;
let outbox: string;
let restarted: RunningGateway | undefined;
const clients: GrpcClient[] = [];

beforeAll(async () => {
  // A short lease: the publisher heartbeats every third of it, and re-registers on the first heartbeat the new gateway refuses.
  mesh = await startTestMesh({ AGENTMESH_POLICY_DIR: committedBundleDir, AGENTMESH_LEASE_TTL_MS: "1000" }, { publisher: ["content.publish"] });
  outbox = join(mesh.home, "outbox");
  await mesh.startAgent("publisher", [recorded(publishDefinition(outbox), log)]);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await restarted?.stop();
  await mesh.stop();
});

const tokenFor: TokenFor = (subject, role) => mesh.token(subject, role);

/** A client of whatever gateway listens on the mesh's gateway address now. */
function gatewayClient(): GrpcClient {
  const client = createGrpcClient(mesh.grpcAddress);
  clients.push(client);
  return client;
}

/** Resolves once `ready()` holds, checking every 50 ms; throws after `ms`. */
async function until(what: string, ready: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen in ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("a pending approval across a gateway restart", () => {
  it("is listed by the new gateway, and its task runs once, when approved there", async () => {
    const taskId = "restart-publish-1";
    const request = { taskId, intent: "content.publish", inputs: { channel: "blog", title: "Beacon", body: "Beacon ships today." } };
    const asAlice = async () => ({ metadata: { authorization: `Bearer ${await mesh.token("alice", "supervisor")}` }, deadline: Date.now() + 10_000 });

    const first = gatewayClient();
    const held = await first.unary(DelegationService.method.delegate, request, await asAlice());
    expect([held.result?.state, held.result?.decision?.reasons.map((r) => r.code)]).toEqual([TaskState.AWAITING_APPROVAL, ["approval_required"]]);
    const pendingBefore = await createApprovalDesk(first, tokenFor).pending(taskId);

    await mesh.gateway.stop();
    restarted = await startGateway(readGatewayConfig({ ...mesh.env, AGENTMESH_GRPC_ADDRESS: mesh.grpcAddress }), { logger: createLogger("test", "error") });
    expect(restarted.grpcPort).toBe(mesh.gateway.grpcPort);
    const client = gatewayClient();
    const desk = createApprovalDesk(client, tokenFor);

    expect(await desk.approvals(taskId)).toEqual([pendingBefore]);
    expect((await client.unary(DelegationService.method.getResult, { taskId }, await asAlice())).state).toBe(TaskState.AWAITING_APPROVAL);
    expect(log.entries).toEqual([]);

    const table = restarted.table;
    await until("the publisher's registration with the new gateway", () => table.pick("content.publish").length > 0);
    const done = desk.terminal(taskId);
    const decided = await desk.decide(pendingBefore.approvalId, ApprovalDecision.APPROVE);
    expect([decided.approval?.state, decided.approval?.decidedBy]).toEqual([ApprovalState.APPROVED, "bob"]);
    expect((await done).state).toBe(TaskState.COMPLETED);

    const result = await client.unary(DelegationService.method.getResult, { taskId }, await asAlice());
    expect([result.state, result.agent, result.outputs?.alreadyPublished]).toEqual([TaskState.COMPLETED, "publisher", false]);
    expect(JSON.parse(readFileSync(result.outputs!.outboxPath as string, "utf8"))).toMatchObject({ taskId, body: "Beacon ships today." });
    // Asking again answers the same result without running it again.
    const again = await client.unary(DelegationService.method.delegate, request, await asAlice());
    expect([again.result?.state, again.result?.outputs]).toEqual([TaskState.COMPLETED, result.outputs]);
    expect(log.entries).toEqual([taskId]);
  });
});
