/**
 * The campaign-launch saga with real processes (gateway, budgeter, copywriter,
 * publisher, sagas service) on each queue backend (embedded, and NATS JetStream
 * with a real nats-server) and the committed policy bundle, which holds every
 * publication booking for a human approval. Effects are checked where the agents record
 * them (their effect ledgers), not only in the coordinator's state.
 *
 * - a saga whose steps all succeed completes, each effect once;
 * - a saga whose last step fails (its publication slot is already booked) ends
 *   compensated: the draft is withdrawn, then the budget released, each once;
 * - a saga whose coordinator is SIGKILLed while a step is in progress completes
 *   once the coordinator runs again, each effect once, with a complete trail;
 *   so does one whose gateway is SIGKILLed and started again meanwhile, and one
 *   whose worker is down when its step comes and is started again;
 * - `agentmesh sagas start|get` start and show a saga; policy refuses a start by
 *   a caller without the saga's scope.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { ApprovalDecision, ApprovalState } from "../gen/agentmesh/v1/approval_pb.js";
import type { Approval } from "../gen/agentmesh/v1/approval_pb.js";
import { RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import { SagaActionState, SagaStatus } from "../gen/agentmesh/v1/saga_pb.js";
import type { Saga } from "../gen/agentmesh/v1/saga_pb.js";
import { errorDetailOf, sagaTraceId } from "../mesh/index.js";
import { createApprovalDesk } from "./support/approval-desk.js";
import { startNatsServer } from "./support/nats-server.js";
import type { TestNatsServer } from "./support/nats-server.js";
import type { ApprovalDesk } from "./support/approval-desk.js";
import { startSagaMesh } from "./saga-processes.js";
import type { SagaMesh } from "./saga-processes.js";

const ackWaitMs = 3000;

const input = (campaign: string, publishAt: string) => ({
  campaign,
  budgetMicros: 2_000_000_000,
  brief: { product: "Beacon Analytics", audience: "operations leaders", tone: "friendly", channel: "email", keyMessages: ["see every shipment in one dashboard"], callToAction: "Book a demo" },
  channel: "blog",
  publishAt,
});

/** Waits up to 60 s for the pending approval of `taskId`. */
async function pendingApproval(desk: ApprovalDesk, taskId: string): Promise<Approval> {
  for (const deadline = Date.now() + 60_000; ;) {
    const pending = (await desk.approvals(taskId)).find((a) => a.state === ApprovalState.PENDING);
    if (pending !== undefined) return pending;
    if (Date.now() > deadline) throw new Error(`no pending approval for ${taskId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Drops the saga's nonce from the step task ids in `text` (`launch-a.<nonce>.reserve-budget.do` → `launch-a.reserve-budget.do`). */
const denonce = (text: string) => text.replace(/\.[A-Za-z0-9_-]{16}\.(?=[a-z-]+\.(?:do|undo)\b)/g, ".");

const ended = (saga: Saga) => [SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.FAILED].includes(saga.status);
const trailOf = (saga: Saga) => saga.trail.map((e) => `${e.event}${e.step === "" ? "" : ` ${e.step}`}`);
const actions = (saga: Saga) => saga.steps.map((s) => [s.name, SagaActionState[s.action!.state], SagaActionState[s.compensation!.state]]);
/** `[kind, task id without nonce]` of each effect an agent recorded for saga `sagaId`. */
const effectsOf = async (mesh: SagaMesh, ledger: "budget" | "drafts" | "calendar", sagaId: string) =>
  (await mesh.effects(ledger)).filter((e) => e.taskId.startsWith(`${sagaId}.`)).map((e) => [e.kind, denonce(e.taskId)]);
const forward = (step: string) => [`step.requested ${step}`, `step.attempt ${step}`, `step.completed ${step}`];

describe.each(["embedded", "nats"] as const)("the campaign-launch saga on the %s backend", (backend) => {
  let nats: TestNatsServer | undefined;
  let mesh: SagaMesh;
  let desk: ApprovalDesk;

  beforeAll(async () => {
    if (backend === "nats") nats = await startNatsServer();
    // A short lease: agents re-register with a restarted gateway on their next heartbeat.
    mesh = await startSagaMesh({ AGENTMESH_QUEUE_ACK_WAIT_MS: String(ackWaitMs), AGENTMESH_LEASE_TTL_MS: "1000", ...(nats === undefined ? {} : { AGENTMESH_QUEUE: nats.url }) });
    desk = createApprovalDesk(mesh.client(mesh.gatewayAddress), (subject, role) => mesh.token(subject, role));
  }, 90_000);

  afterAll(async () => {
    await mesh?.stop();
    await nats?.stop();
  });

  /** The task id of the publication booking of `sagaId` (it carries the saga's nonce). */
  const bookingTask = async (sagaId: string) => (await mesh.waitFor(sagaId, "its state", () => true)).steps[2]!.action!.taskId;

  /** Waits for the publication booking of `sagaId` to be held for approval, and approves it as bob. */
  const approvePublication = async (sagaId: string) => {
    await desk.decide((await pendingApproval(desk, await bookingTask(sagaId))).approvalId, ApprovalDecision.APPROVE);
  };

  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") process.stderr.write(`${mesh.lines.join("\n")}\n`);
  });

  it("completes when every step succeeds, each effect once", async () => {
    const started = await mesh.startSaga("launch-a", input("spring", "2027-03-01T09:00:00Z"));
    expect([started.alreadyStarted, started.saga!.startedBy, SagaStatus[started.saga!.status]]).toEqual([false, "operator", "RUNNING"]);
    await approvePublication("launch-a");
    const saga = await mesh.waitFor("launch-a", "ended", ended);
    expect(SagaStatus[saga.status]).toBe("COMPLETED");
    expect(actions(saga)).toEqual([["reserve-budget", "COMPLETED", "PENDING"], ["draft-campaign", "COMPLETED", "PENDING"], ["schedule-publish", "COMPLETED", "PENDING"]]);
    expect(trailOf(saga)).toEqual(["saga.started", ...forward("reserve-budget"), ...forward("draft-campaign"), ...forward("schedule-publish"), "saga.completed"]);
    expect(saga.steps.map((s) => [denonce(s.action!.taskId), s.action!.agent, s.action!.attempts])).toEqual([
      ["launch-a.reserve-budget.do", "budgeter", 1], ["launch-a.draft-campaign.do", "copywriter", 1], ["launch-a.schedule-publish.do", "publisher", 1],
    ]);
    expect(saga.steps[2]!.action!.outputs).toEqual({ scheduleId: `sched-${saga.steps[2]!.action!.taskId}`, slot: "slot-blog-2027-03-01T090000.000Z", publishAt: "2027-03-01T09:00:00.000Z", alreadyScheduled: false });
    // One trace for the whole saga: every step's task continued it.
    expect(saga.traceId).toBe(sagaTraceId("launch-a"));
    for (const s of saga.steps) expect((await desk.terminal(s.action!.taskId)).traceId).toBe(saga.traceId);
    const again = await mesh.startSaga("launch-a", input("spring", "2027-03-01T09:00:00Z"));
    expect([again.alreadyStarted, SagaStatus[again.saga!.status]]).toEqual([true, "COMPLETED"]);
  }, 120_000);

  it("withdraws the draft and then releases the budget, each once, when the last step fails", async () => {
    await mesh.startSaga("launch-b", input("summer", "2027-03-01T09:00:00Z"));
    // The coordinator's own identity cannot approve the step it waits for: only a person can.
    const held = await pendingApproval(desk, await bookingTask("launch-b"));
    const refused = await desk.decide(held.approvalId, ApprovalDecision.APPROVE, { subject: "saga-coordinator", role: "supervisor" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect([(refused as ConnectError).code, (refused as ConnectError).rawMessage, errorDetailOf(refused as ConnectError)?.reason]).toEqual([
      Code.PermissionDenied, "only an approver (a human identity) may decide approvals; the caller's role is supervisor", "role_not_allowed",
    ]);
    await approvePublication("launch-b");
    const saga = await mesh.waitFor("launch-b", "ended", ended);
    expect(SagaStatus[saga.status]).toBe("COMPENSATED");
    expect(actions(saga)).toEqual([["reserve-budget", "COMPLETED", "COMPLETED"], ["draft-campaign", "COMPLETED", "COMPLETED"], ["schedule-publish", "FAILED", "PENDING"]]);
    const failed = saga.steps[2]!.action!;
    expect([failed.errorCode, failed.errorReason, denonce(failed.errorMessage)]).toEqual([
      "failed_precondition", "slot_taken", "calendar slot slot-blog-2027-03-01T090000.000Z is already booked by sched-launch-a.schedule-publish.do",
    ]);
    expect(trailOf(saga)).toEqual([
      "saga.started", ...forward("reserve-budget"), ...forward("draft-campaign"),
      "step.requested schedule-publish", "step.attempt schedule-publish", "step.failed schedule-publish",
      "compensation.requested draft-campaign", "compensation.attempt draft-campaign", "compensation.completed draft-campaign",
      "compensation.requested reserve-budget", "compensation.attempt reserve-budget", "compensation.completed reserve-budget",
      "saga.compensated",
    ]);
    // The agents' own records: every effect once, the compensations in reverse order.
    const budget = (await mesh.effects("budget")).filter((e) => e.taskId.startsWith("launch-b."));
    const drafts = (await mesh.effects("drafts")).filter((e) => e.taskId.startsWith("launch-b."));
    expect(budget.map((e) => [e.kind, denonce(e.taskId)])).toEqual([["budget.reserved", "launch-b.reserve-budget.do"], ["budget.released", "launch-b.reserve-budget.undo"]]);
    expect(drafts.map((e) => [e.kind, denonce(e.taskId)])).toEqual([["campaign.drafted", "launch-b.draft-campaign.do"], ["campaign.withdrawn", "launch-b.draft-campaign.undo"]]);
    expect(Date.parse(drafts[1]!.at)).toBeLessThanOrEqual(Date.parse(budget[1]!.at));
    expect((await mesh.effects("calendar")).map((e) => [e.kind, denonce(e.taskId)])).toEqual([["publish.scheduled", "launch-a.schedule-publish.do"]]);
  }, 120_000);

  it("completes a saga whose coordinator was SIGKILLed while a step was in progress, each effect once", async () => {
    await mesh.startSaga("launch-c", input("autumn", "2027-09-01T09:00:00Z"));
    // The booking waits for a human: the coordinator is following it when it dies.
    const taskId = await bookingTask("launch-c");
    await mesh.waitFor("launch-c", "the booking in progress", (s) => s.steps[2]?.action?.attempts === 1);
    await pendingApproval(desk, taskId);
    await mesh.kill("sagas");
    await mesh.restart("sagas");
    await approvePublication("launch-c");
    const saga = await mesh.waitFor("launch-c", "ended", ended);
    expect(SagaStatus[saga.status]).toBe("COMPLETED");
    // The held step occupied no delivery while it waited: the restarted coordinator took up its next re-check, no new attempt.
    expect(trailOf(saga)).toEqual(["saga.started", ...forward("reserve-budget"), ...forward("draft-campaign"), ...forward("schedule-publish"), "saga.completed"]);
    const mine = (ledger: "budget" | "drafts" | "calendar") => effectsOf(mesh, ledger, "launch-c");
    expect(await mine("budget")).toEqual([["budget.reserved", "launch-c.reserve-budget.do"]]);
    expect(await mine("drafts")).toEqual([["campaign.drafted", "launch-c.draft-campaign.do"]]);
    expect(await mine("calendar")).toEqual([["publish.scheduled", "launch-c.schedule-publish.do"]]);
  }, 120_000);

  it("completes a saga whose gateway was SIGKILLed and started again while a step waited for approval, each effect once", async () => {
    await mesh.startSaga("launch-d", input("winter", "2027-12-01T09:00:00Z"));
    const taskId = await bookingTask("launch-d");
    await pendingApproval(desk, taskId);
    await mesh.kill("gateway");
    await mesh.restart("gateway");
    // The held task and its approval were journaled by the gateway; the publisher registers again on its next heartbeat.
    const registry = mesh.client(mesh.gatewayAddress);
    for (const deadline = Date.now() + 30_000; ;) {
      const operator = { authorization: `Bearer ${await mesh.token("operator", "supervisor")}` };
      const res = await registry.unary(RegistryService.method.listAgents, {}, { metadata: operator, deadline: Date.now() + 2_000 }).catch(() => undefined);
      if (res?.agents.some((a) => a.card?.name === "publisher" && a.instances.length > 0) === true) break;
      if (Date.now() > deadline) throw new Error("the publisher did not register with the restarted gateway");
      await new Promise((r) => setTimeout(r, 200));
    }
    await approvePublication("launch-d");
    const saga = await mesh.waitFor("launch-d", "ended", ended);
    expect(SagaStatus[saga.status], saga.trail.map((e) => `${e.event} ${e.step}: ${e.detail}`).join("\n")).toBe("COMPLETED");
    // The coordinator tried the unreachable gateway again in place: the restart cost the step no delivery.
    expect(trailOf(saga)).toEqual(["saga.started", ...forward("reserve-budget"), ...forward("draft-campaign"), ...forward("schedule-publish"), "saga.completed"]);
    const mine = (ledger: "budget" | "drafts" | "calendar") => effectsOf(mesh, ledger, "launch-d");
    expect(await mine("calendar")).toEqual([["publish.scheduled", "launch-d.schedule-publish.do"]]);
    expect(await mine("budget")).toEqual([["budget.reserved", "launch-d.reserve-budget.do"]]);
  }, 120_000);

  it("completes a saga whose worker was down when its step came and was started again, each effect once", async () => {
    await mesh.kill("budgeter");
    await mesh.startSaga("launch-e", input("harvest", "2027-10-01T09:00:00Z"));
    // The coordinator keeps trying the step in place while no budgeter is there.
    await mesh.waitFor("launch-e", "the reservation being tried", (s) => s.steps[0]?.action?.attempts === 1);
    await new Promise((r) => setTimeout(r, 1_000));
    await mesh.restart("budgeter");
    await approvePublication("launch-e");
    const saga = await mesh.waitFor("launch-e", "ended", ended);
    expect(SagaStatus[saga.status], saga.trail.map((e) => `${e.event} ${e.step}: ${e.detail}`).join("\n")).toBe("COMPLETED");
    expect(trailOf(saga)).toEqual(["saga.started", ...forward("reserve-budget"), ...forward("draft-campaign"), ...forward("schedule-publish"), "saga.completed"]);
    expect(await effectsOf(mesh, "budget", "launch-e")).toEqual([["budget.reserved", "launch-e.reserve-budget.do"]]);
  }, 120_000);

  const cli = async (args: string[], env: Record<string, string> = {}) =>
    promisify(execFile)(process.execPath, ["bin/agentmesh.js", "sagas", ...args, "--sagas", mesh.sagasAddress], { env: { ...process.env, AGENTMESH_HOME: mesh.home, ...env } });

  it("agentmesh sagas start and get: start a saga from an input file and print its steps and trail", async () => {
    const started = await cli(["start", "campaign-launch", "--input", "examples/campaign-launch-saga.json", "--saga-id", "launch-cli"]);
    expect(started.stdout).toBe(
      "started: saga launch-cli (campaign-launch)\n" +
      "follow it with: agentmesh sagas get launch-cli; steps held for a human wait in: agentmesh approvals list\n",
    );
    await mesh.waitFor("launch-cli", "the booking held for approval", (s) => s.steps[2]?.action?.attempts === 1);
    const { stdout } = await cli(["get", "launch-cli"]);
    expect(denonce(stdout).split("\n").slice(0, 5)).toEqual([
      `saga launch-cli  campaign-launch  running  (started by operator; trace ${sagaTraceId("launch-cli")})`,
      "  reserve-budget: budget.reserve completed by budgeter (1 attempt)  task launch-cli.reserve-budget.do",
      "  draft-campaign: campaign.draft completed by copywriter (1 attempt)  task launch-cli.draft-campaign.do",
      "  schedule-publish: publish.schedule running (1 attempt)  task launch-cli.schedule-publish.do",
      "trail:",
    ]);
  }, 60_000);

  it("agentmesh sagas start is refused by policy for a caller without the saga's scope", async () => {
    const token = await mesh.token("copywriter", "worker");
    const err = await cli(["start", "campaign-launch", "--input", "examples/campaign-launch-saga.json", "--saga-id", "launch-denied"], { AGENTMESH_TOKEN: token }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(err).toMatchObject({ code: 1, stderr: "error: [permission_denied] copywriter lacks scope campaign:plan required by saga.campaign-launch (reason: scope_missing)\n" });
  }, 60_000);
});
