/**
 * What happens to a held task over gRPC, at the service that holds it (usually
 * the gateway): an approver finds its pending approval and decides it, and anyone
 * allowed follows the task to its end.
 */
import { ApprovalService, ApprovalState } from "../../gen/agentmesh/v1/approval_pb.js";
import type { Approval, ApprovalDecision, DecideResponse } from "../../gen/agentmesh/v1/approval_pb.js";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";
import { isTerminal } from "../../mesh/index.js";
import type { GrpcClient, Role } from "../../mesh/index.js";

/** Mints a bearer token for `subject` in `role` (`TestMesh.token`). */
export type TokenFor = (subject: string, role: Role) => Promise<string>;

/** The approver who decides unless a call names another: bob. */
export const approver = { subject: "bob", role: "approver" } as const satisfies { subject: string; role: Role };

/** The reason every decision here gives. */
export const decisionReason = "checked the request";

/** Approval calls against one service; see `createApprovalDesk`. */
export interface ApprovalDesk {
  /** Every approval of `taskId`, newest first, as `approver` lists them. */
  approvals(taskId: string): Promise<Approval[]>;
  /** The pending approval of `taskId`; throws when there is none. */
  pending(taskId: string): Promise<Approval>;
  /** Decides `approvalId` with `decisionReason`, as `by` (default `approver`). */
  decide(approvalId: string, decision: ApprovalDecision, by?: { subject: string; role: Role }): Promise<DecideResponse>;
  /** Follows `taskId` with WatchResult, as an auditor, until it ends (at most 10 s); its last result. */
  terminal(taskId: string): Promise<Result>;
}

/** Approval calls on `client`, with tokens from `tokenFor`. */
export function createApprovalDesk(client: GrpcClient, tokenFor: TokenFor): ApprovalDesk {
  const as = async (subject: string, role: Role) => ({ metadata: { authorization: `Bearer ${await tokenFor(subject, role)}` }, deadline: Date.now() + 10_000 });
  const approvals = async (taskId: string) => {
    const res = await client.unary(ApprovalService.method.listApprovals, {}, await as(approver.subject, approver.role));
    return res.approvals.filter((a) => a.taskId === taskId);
  };
  return {
    approvals,
    async pending(taskId) {
      const found = (await approvals(taskId)).find((a) => a.state === ApprovalState.PENDING);
      if (found === undefined) throw new Error(`no pending approval for task ${taskId}`);
      return found;
    },
    async decide(approvalId, decision, by = approver) {
      return client.unary(ApprovalService.method.decide, { approvalId, decision, reason: decisionReason }, await as(by.subject, by.role));
    },
    async terminal(taskId) {
      let last: Result | undefined;
      for await (const ev of client.serverStream(DelegationService.method.watchResult, { taskId }, await as("audrey", "auditor"))) {
        last = ev.result;
        if (isTerminal(ev.state)) break;
      }
      if (last === undefined) throw new Error(`WatchResult sent nothing for task ${taskId}`);
      return last;
    },
  };
}
