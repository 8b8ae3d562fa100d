/**
 * Human approvals: the gate that holds back what policy sends to a human (step 5b
 * of the governance chain), and `ApprovalService`, where an approver decides.
 *
 * A held task is recorded in the task store as AWAITING_APPROVAL and answers the
 * caller at once; nothing runs. The approval is bound to a digest of the exact
 * request (intent, targets, inputs, artifacts, budget), is used once and expires.
 * On approve the task runs as it was asked, with the caller, chain and trace it
 * came with, and its result reaches GetResult / WatchResult; on deny or expiry it
 * ends REJECTED with the reason.
 */
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, createContextValues } from "@connectrpc/connect";
import { ApprovalDecision, ApprovalService, ApprovalState } from "../../gen/agentmesh/v1/approval_pb.js";
import type { DecideRequest, ListApprovalsRequest } from "../../gen/agentmesh/v1/approval_pb.js";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest, DelegateResponse } from "../../gen/agentmesh/v1/delegation_pb.js";
import { PolicyDecisionSchema, TaskErrorSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { MeshCall, MeshHandler, MeshInterceptor, MeshServiceImpl } from "../call.js";
import { approvalKey, callerKey, chainKey, decisionKey, inputsKey, traceKey } from "../context-keys.js";
import { invalidArgument, meshError, taskErrorOf, toConnectError } from "../errors.js";
import { requestFingerprint } from "../interceptors/idempotency.js";
import { methodKey } from "../interceptors/validate-request.js";
import type { RequestValidator } from "../interceptors/validate-request.js";
import type { Logger } from "../logger.js";
import type { DelegationMetrics } from "../telemetry/metrics.js";
import { rejectedOutcome } from "../telemetry/metrics-hooks.js";
import { initialResult, withState } from "../tasks/result-builder.js";
import { isTerminal, refusedState } from "../tasks/task-states.js";
import type { TaskStore } from "../tasks/task-store.js";
import { formatTraceparent } from "../trace/trace-context.js";
import { approvedInKey, otelContextKey, spanContextOf } from "../telemetry/telemetry-keys.js";
import type { ApprovalStore, HeldTask } from "./approval-store.js";
import { approvalDigest } from "./request-digest.js";

/** What the approvals need from the service that holds them. */
export interface ApprovalsOptions {
  readonly approvals: ApprovalStore;
  readonly tasks: TaskStore;
  /** The service's name (agent or "gateway"), as on its results. */
  readonly agent: string;
  /** The agents a request may run on: the agent itself, or those the gateway routes the intent to. */
  readonly targets: (req: DelegateRequest) => readonly string[];
  /**
   * Runs a Delegate call from the step after the gate (idempotency, then the
   * task): how an approved task is started.
   */
  readonly run: MeshHandler;
  readonly logger: Logger;
  /** Told of every human decision and expiry (for the audit log). */
  readonly onDecision?: HeldTaskListener;
  /** Told of every task held for approval and every one denied or expired (mesh/telemetry/metrics.ts). */
  readonly metrics?: DelegationMetrics;
}

/** Receives an approval that was just decided or expired. */
export type HeldTaskListener = (held: HeldTask) => void;

/** The gate, the service and the sweeper of one service's approvals. */
export interface Approvals {
  /** Step 5b of the governance chain. */
  readonly gate: MeshInterceptor;
  readonly service: MeshServiceImpl<typeof ApprovalService>;
  readonly validators: Map<string, RequestValidator>;
  /** Carries out decisions that were journaled but not acted on before a stop (run once at start). */
  recover(): Promise<void>;
  /** Expires overdue approvals (their tasks end REJECTED); runs every `intervalMs` until `stop`. */
  startSweeping(intervalMs?: number): void;
  stop(): Promise<void>;
}

/** Most tasks one caller may have waiting for approval per intent (beyond: RESOURCE_EXHAUSTED). */
const maxPendingPerCaller = 20;

/** Roles that may list approvals. */
const listers: ReadonlySet<string> = new Set(["approver", "auditor"]);

/** Creates the approvals of a service. */
export function createApprovals(o: ApprovalsOptions): Approvals {
  const { approvals, tasks } = o;
  const runs = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;

  const reject = async (held: HeldTask, reason: string, message: string) => {
    const rec = tasks.get(held.request.taskId);
    if (rec === undefined || isTerminal(rec.result.state)) return;
    await tasks.finish(held.request.taskId, withState(rec.result, TaskState.REJECTED, {
      error: create(TaskErrorSchema, { code: "permission_denied", message, retryable: false, reason }),
    }));
    o.metrics?.task(rejectedOutcome(held.request, o.agent, reason));
  };

  const expire = async () => {
    for (const held of approvals.overdue()) {
      let done: HeldTask;
      try {
        done = await approvals.settle(held.approval.approvalId, ApprovalState.EXPIRED, "", "nobody decided before the approval expired");
      } catch {
        continue; // decided meanwhile
      }
      o.onDecision?.(done);
      await act(done);
    }
  };

  /** Carries out a decided approval on its task, if the task still waits for it. */
  const act = async (held: HeldTask, decidedIn?: MeshCall) => {
    const rec = tasks.get(held.request.taskId);
    if (rec === undefined || rec.result.state !== TaskState.AWAITING_APPROVAL) return;
    switch (held.approval.state) {
      case ApprovalState.APPROVED:
        resume(held, decidedIn);
        return;
      case ApprovalState.DENIED:
        await reject(held, "approval_denied", `denied by ${held.approval.decidedBy}: ${held.approval.decisionReason}`);
        return;
      case ApprovalState.EXPIRED:
        await reject(held, "approval_expired", `no approver decided before ${timestampDate(held.approval.expiresAt!).toISOString()}`);
        return;
      default:
        return;
    }
  };

  const resume = (held: HeldTask, decidedIn?: MeshCall) => {
    const run = o.run(resumedCall(held, decidedIn)).catch(async (err: unknown) => {
      const ce = toConnectError(err);
      o.logger.warn("the approved task did not run", { task_id: held.request.taskId, error: ce.rawMessage });
      // Refused before it started (e.g. a quota met since it was held): that is its outcome.
      const rec = tasks.get(held.request.taskId);
      if (rec?.result.state === TaskState.AWAITING_APPROVAL) {
        await tasks.finish(held.request.taskId, withState(rec.result, refusedState(ce.code), { error: taskErrorOf(ce) }));
      }
    });
    runs.add(run);
    void run.finally(() => runs.delete(run));
  };

  const gate: MeshInterceptor = (next) => async (call) => {
    if (call.method !== DelegationService.method.delegate) return next(call);
    const decision = call.values.get(decisionKey);
    const req = call.message as DelegateRequest;
    const existing = approvals.byTask(req.taskId);
    // Whatever policy says now, a task id that holds an approval follows that approval.
    if ((decision === undefined || decision.allow) && existing === undefined) return next(call);
    const caller = call.values.get(callerKey)!;
    const chain = call.values.get(chainKey)!;
    const targets = o.targets(req);
    const digest = approvalDigest(req, targets, chain.budget);
    if (existing !== undefined) {
      if (existing.approval.requestedBy !== caller.subject || existing.approval.requestDigest !== digest) {
        throw meshError(Code.FailedPrecondition, `task id ${req.taskId} holds an approval for a different request: a changed request needs a new approval under a new task id`, {
          reason: "approval_mismatch",
          metadata: { task_id: req.taskId, approval_id: existing.approval.approvalId },
        });
      }
      const rec = tasks.get(req.taskId);
      if (existing.approval.state === ApprovalState.APPROVED && rec !== undefined && rec.result.state !== TaskState.AWAITING_APPROVAL) {
        if (!rec.settled && isTerminal(rec.result.state)) {
          // The approved run ended in a failure a retry could fix; an approval is used once.
          throw meshError(Code.FailedPrecondition, `the approved run of task ${req.taskId} ended (${rec.result.error?.reason ?? "failed"}); an approval is used once: delegate again under a new task id for a new approval`, {
            reason: "approval_used",
            metadata: { task_id: req.taskId, approval_id: existing.approval.approvalId },
          });
        }
        // The approved task runs or ran: the idempotency step joins it or answers its result.
        call.values.set(approvalKey, { approvalId: existing.approval.approvalId, approver: existing.approval.decidedBy, digest });
        return next(call);
      }
      return { result: rec!.result };
    }
    if (decision === undefined || decision.allow) return next(call);
    const pending = approvals.pendingCount(caller.subject, req.intent);
    if (pending >= maxPendingPerCaller) {
      throw meshError(Code.ResourceExhausted, `${caller.subject} already has ${pending} ${req.intent} tasks waiting for approval; wait for decisions before asking for more`, {
        reason: "too_many_pending_approvals",
        metadata: { limit: String(maxPendingPerCaller), intent: req.intent },
      });
    }
    const settled = tasks.get(req.taskId);
    if (settled?.settled === true) return { result: settled.result };
    // The task record first (it refuses a task id used for another request), then the approval.
    const waiting = withState(initialResult(req, call, o.agent), TaskState.AWAITING_APPROVAL);
    await tasks.hold({ taskId: req.taskId, fingerprint: requestFingerprint(caller.subject, req), owner: caller.subject, initial: waiting });
    let held: HeldTask;
    try {
      held = await approvals.add({ request: req, caller, chain, trace: call.values.get(traceKey), targets, digest, decision, depth: chain.hops.length });
    } catch (err) {
      const ce = meshError(Code.Unavailable, "could not record the approval request; retry with the same task id", { reason: "approval_not_recorded" }, err);
      tasks.release(req.taskId, withState(waiting, TaskState.FAILED, { error: taskErrorOf(ce) }), ce);
      throw ce;
    }
    o.metrics?.escalation({ taskId: req.taskId, intent: req.intent, agent: o.agent, escalation: "approval_requested", reason: decision.reasons[0]?.code ?? "approval_required" });
    o.logger.info("task awaits approval", { task_id: req.taskId, approval_id: held.approval.approvalId, intent: req.intent });
    return { result: tasks.get(req.taskId)!.result } satisfies Partial<DelegateResponse>;
  };

  const service: MeshServiceImpl<typeof ApprovalService> = {
    async listApprovals(req: ListApprovalsRequest, call: MeshCall) {
      const caller = call.values.get(callerKey)!;
      if (!listers.has(caller.role)) {
        throw meshError(Code.PermissionDenied, `only approvers and auditors may list approvals; the caller's role is ${caller.role}`, { reason: "role_not_allowed" });
      }
      await expire();
      const limit = req.limit === 0 ? 100 : req.limit;
      return { approvals: approvals.list(req.state).slice(0, limit).map((h) => h.approval) };
    },
    async decide(req: DecideRequest, call: MeshCall) {
      const caller = call.values.get(callerKey)!;
      if (caller.role !== "approver") {
        throw meshError(Code.PermissionDenied, `only an approver (a human identity) may decide approvals; the caller's role is ${caller.role}`, { reason: "role_not_allowed" });
      }
      await expire();
      const held = approvals.get(req.approvalId);
      if (held === undefined) {
        throw meshError(Code.NotFound, `no approval with id ${req.approvalId}`, { reason: "approval_not_found" });
      }
      if (held.approval.requestedBy === caller.subject) {
        throw meshError(Code.PermissionDenied, `${caller.subject} asked for this task and may not approve it`, { reason: "self_approval" });
      }
      if (held.approval.state !== ApprovalState.PENDING) {
        throw meshError(Code.FailedPrecondition, `approval ${req.approvalId} is ${ApprovalState[held.approval.state].toLowerCase()}, not pending: an approval is decided once`, {
          reason: "approval_not_pending",
        });
      }
      const task = tasks.get(held.request.taskId);
      if (task !== undefined && isTerminal(task.result.state)) {
        throw meshError(Code.FailedPrecondition, `task ${held.request.taskId} already ended (${TaskState[task.result.state].toLowerCase()})`, { reason: "task_ended" });
      }
      const approve = req.decision === ApprovalDecision.APPROVE;
      // settle() changes the state at once (compare-and-set on PENDING), so of two
      // concurrent decisions only one gets here.
      const done = await approvals.settle(held.approval.approvalId, approve ? ApprovalState.APPROVED : ApprovalState.DENIED, caller.subject, req.reason);
      o.onDecision?.(done);
      await act(done, call);
      return { approval: done.approval };
    },
  };

  const m = ApprovalService.method;
  const validators = new Map<string, RequestValidator>([
    [methodKey(m.listApprovals), (msg) => {
      const req = msg as ListApprovalsRequest;
      if (req.limit < 0 || req.limit > 1000) throw invalidArgument("invalid ListApprovalsRequest: limit must be between 0 and 1000", "request_invalid", [{ field: "limit", description: "must be between 0 and 1000" }]);
    }],
    [methodKey(m.decide), (msg) => {
      const req = msg as DecideRequest;
      const violations = [
        ...(/^apr-[0-9a-f-]{36}$/.test(req.approvalId) ? [] : [{ field: "approval_id", description: "must be an approval id (apr-<uuid>)" }]),
        ...(req.decision === ApprovalDecision.UNSPECIFIED ? [{ field: "decision", description: "must be APPROVE or DENY" }] : []),
        ...(req.reason.trim() === "" || req.reason.length > 1000 ? [{ field: "reason", description: "is required, at most 1000 characters" }] : []),
      ];
      if (violations.length > 0) throw invalidArgument(`invalid DecideRequest: ${violations.map((v) => `${v.field} ${v.description}`).join("; ")}`, "request_invalid", violations);
    }],
  ]);

  return {
    gate,
    service,
    validators,
    async recover() {
      // A decision journaled just before a stop may not have reached its task.
      for (const held of approvals.list()) await act(held);
    },
    startSweeping(intervalMs = 30_000) {
      timer = setInterval(() => void expire().catch((err: unknown) => o.logger.warn("approval sweep failed", { error: String(err) })), intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...runs]);
      await approvals.close();
    },
  };
}

/** The Delegate call an approved task runs as: the original request, caller, chain and trace. */
function resumedCall(held: HeldTask, decidedIn: MeshCall | undefined): MeshCall {
  const a = held.approval;
  const values = createContextValues();
  values.set(callerKey, held.caller);
  values.set(chainKey, held.chain);
  if (held.trace !== undefined) values.set(traceKey, held.trace);
  values.set(inputsKey, held.request.inputs ?? {});
  // The task span links to the approver's call (mesh/telemetry/task-span.ts).
  values.set(approvedInKey, spanContextOf(decidedIn?.values.get(otelContextKey)));
  values.set(approvalKey, { approvalId: a.approvalId, approver: a.decidedBy, digest: a.requestDigest });
  values.set(decisionKey, create(PolicyDecisionSchema, {
    allow: true,
    requiresApproval: true,
    revision: a.policyRevision,
    reasons: [...a.reasons, { code: "approved", message: `approved by ${a.decidedBy}: ${a.decisionReason}` }],
  }));
  const headers = new Map<string, string>();
  if (held.trace !== undefined) headers.set("traceparent", formatTraceparent(held.trace));
  const deadline = held.request.constraints?.deadline;
  return {
    service: DelegationService,
    method: DelegationService.method.delegate,
    protocol: "grpc",
    header: { get: (name) => headers.get(name) ?? null },
    message: held.request,
    values,
    signal: new AbortController().signal,
    deadline: deadline === undefined ? undefined : timestampDate(deadline).getTime(),
    peer: `approval ${a.approvalId}`,
  };
}
