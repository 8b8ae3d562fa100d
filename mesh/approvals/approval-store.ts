/**
 * The approvals a service holds: for each task that policy sent to a human, the
 * approval record and everything needed to run the task later exactly as it was
 * asked (the request, the verified caller, the chain and the trace). Journaled, so
 * pending approvals survive a restart.
 */
import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { ApprovalSchema, ApprovalState } from "../../gen/agentmesh/v1/approval_pb.js";
import type { Approval } from "../../gen/agentmesh/v1/approval_pb.js";
import { DelegateRequestSchema } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { PolicyDecision } from "../../gen/agentmesh/v1/task_pb.js";
import type { Identity } from "../auth/identity.js";
import type { DelegationChain } from "../chain/delegation-chain.js";
import { openJsonlLog } from "../storage/jsonl-log.js";
import { meshError } from "../errors.js";
import { Code } from "@connectrpc/connect";
import type { TraceContext } from "../trace/trace-context.js";

/** An approval with the task it holds back. */
export interface HeldTask {
  approval: Approval;
  readonly request: DelegateRequest;
  readonly caller: Identity;
  readonly chain: DelegationChain;
  readonly trace: TraceContext | undefined;
}

/** What `add` needs to hold a task. */
export interface HoldRequest {
  readonly request: DelegateRequest;
  readonly caller: Identity;
  readonly chain: DelegationChain;
  readonly trace: TraceContext | undefined;
  readonly targets: readonly string[];
  readonly digest: string;
  readonly decision: PolicyDecision;
  readonly depth: number;
}

/** The approvals of one service; see `createApprovalStore`. */
export interface ApprovalStore {
  /** The held task with this approval id. */
  get(approvalId: string): HeldTask | undefined;
  /** The latest held task for a task id. */
  byTask(taskId: string): HeldTask | undefined;
  /** Approvals, newest first, optionally in one state. Expires overdue ones first. */
  list(state?: ApprovalState): HeldTask[];
  /** Holds a new task pending approval; resolves once journaled. */
  add(hold: HoldRequest): Promise<HeldTask>;
  /**
   * Records a decision (or expiry) on a pending approval; resolves once journaled.
   * Throws FAILED_PRECONDITION `approval_not_pending` unless it is pending, so
   * of concurrent decisions exactly one wins.
   */
  settle(approvalId: string, state: ApprovalState, by: string, reason: string): Promise<HeldTask>;
  /** How many approvals `requestedBy` has pending for `intent`. */
  pendingCount(requestedBy: string, intent: string): number;
  /** Pending approvals whose time ran out (they are not changed). */
  overdue(now?: number): HeldTask[];
  close(): Promise<void>;
}

/** Options of `createApprovalStore`. */
export interface ApprovalStoreOptions {
  /** Journal file; none keeps approvals in memory only. */
  readonly path?: string;
  /** How long an approval may be given; default 24 h. */
  readonly ttlMs?: number;
}

interface Line {
  a: string;
  r: string;
  c: Identity;
  h: { a: string; i: string; t: string }[];
  m?: string;
  k?: string;
  t?: TraceContext;
}

/** Default lifetime of a pending approval. */
export const defaultApprovalTtlMs = 24 * 3600 * 1000;

/** Opens the store, replaying its journal. */
export function createApprovalStore(o: ApprovalStoreOptions = {}): ApprovalStore {
  const ttl = o.ttlMs ?? defaultApprovalTtlMs;
  const log = o.path === undefined ? undefined : openJsonlLog<Line>(o.path);
  const byId = new Map<string, HeldTask>();
  const latestByTask = new Map<string, string>();
  for (const line of log?.readAll() ?? []) {
    try {
      const held = fromLine(line);
      byId.set(held.approval.approvalId, held);
      latestByTask.set(held.request.taskId, held.approval.approvalId);
    } catch {
      // An unreadable line is skipped like a torn one.
    }
  }
  const persist = async (held: HeldTask) => {
    await log?.append(toLine(held));
  };

  return {
    get: (id) => byId.get(id),
    byTask(taskId) {
      const id = latestByTask.get(taskId);
      return id === undefined ? undefined : byId.get(id);
    },
    list(state) {
      return [...byId.values()]
        .filter((h) => state === undefined || state === ApprovalState.UNSPECIFIED || h.approval.state === state)
        .sort((a, b) => timestampDate(b.approval.createdAt!).getTime() - timestampDate(a.approval.createdAt!).getTime());
    },
    async add(hold) {
      const now = Date.now();
      const approval = create(ApprovalSchema, {
        approvalId: `apr-${randomUUID()}`,
        taskId: hold.request.taskId,
        correlationId: hold.request.correlationId === "" ? hold.request.taskId : hold.request.correlationId,
        intent: hold.request.intent,
        targets: [...hold.targets],
        requestedBy: hold.caller.subject,
        requestDigest: hold.digest,
        inputs: hold.request.inputs,
        reasons: hold.decision.reasons,
        state: ApprovalState.PENDING,
        createdAt: timestampFromMs(now),
        expiresAt: timestampFromMs(now + ttl),
        policyRevision: hold.decision.revision,
        depth: hold.depth,
      });
      const held: HeldTask = { approval, request: hold.request, caller: hold.caller, chain: hold.chain, trace: hold.trace };
      await persist(held);
      byId.set(approval.approvalId, held);
      latestByTask.set(hold.request.taskId, approval.approvalId);
      return held;
    },
    async settle(approvalId, state, by, reason) {
      const held = byId.get(approvalId);
      if (held === undefined) throw new Error(`no approval ${approvalId}`);
      const before = held.approval;
      if (before.state !== ApprovalState.PENDING) {
        throw meshError(Code.FailedPrecondition, `approval ${approvalId} is ${ApprovalState[before.state].toLowerCase()}, not pending: an approval is decided once`, { reason: "approval_not_pending" });
      }
      // Decided in memory at once, before the write, so no second decision can pass the check above.
      held.approval = create(ApprovalSchema, { ...before, state, decidedAt: timestampNow(), decidedBy: by, decisionReason: reason });
      try {
        await persist(held);
      } catch (err) {
        held.approval = before;
        throw err;
      }
      return held;
    },
    pendingCount(requestedBy, intent) {
      let n = 0;
      for (const h of byId.values()) if (h.approval.state === ApprovalState.PENDING && h.approval.requestedBy === requestedBy && h.approval.intent === intent) n++;
      return n;
    },
    overdue(now = Date.now()) {
      return [...byId.values()].filter((h) => h.approval.state === ApprovalState.PENDING && timestampDate(h.approval.expiresAt!).getTime() <= now);
    },
    close: async () => log?.close(),
  };
}

function toLine(h: HeldTask): Line {
  const line: Line = {
    a: Buffer.from(toBinary(ApprovalSchema, h.approval)).toString("base64"),
    r: Buffer.from(toBinary(DelegateRequestSchema, h.request)).toString("base64"),
    c: h.caller,
    h: h.chain.hops.map((hop) => ({ a: hop.agent, i: hop.intent, t: hop.taskId })),
  };
  if (h.chain.budget.moneyMicros !== undefined) line.m = h.chain.budget.moneyMicros.toString();
  if (h.chain.budget.tokens !== undefined) line.k = h.chain.budget.tokens.toString();
  if (h.trace !== undefined) line.t = h.trace;
  return line;
}

function fromLine(l: Line): HeldTask {
  return {
    approval: fromBinary(ApprovalSchema, Buffer.from(l.a, "base64")),
    request: fromBinary(DelegateRequestSchema, Buffer.from(l.r, "base64")),
    caller: l.c,
    chain: {
      hops: l.h.map((hop) => ({ agent: hop.a, intent: hop.i, taskId: hop.t })),
      budget: { moneyMicros: l.m === undefined ? undefined : BigInt(l.m), tokens: l.k === undefined ? undefined : BigInt(l.k) },
    },
    trace: l.t,
  };
}
