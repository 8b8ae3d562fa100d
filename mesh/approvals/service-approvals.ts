/** Wiring of the approvals into a service (an agent or the gateway). */
import { join } from "node:path";
import type { DelegateRequest, DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import { applyInterceptors } from "../call.js";
import type { MeshInterceptor, MeshServiceImpl } from "../call.js";
import { createIdempotencyInterceptor } from "../interceptors/idempotency.js";
import type { Logger } from "../logger.js";
import type { DelegationMetrics } from "../telemetry/metrics.js";
import type { TaskStore } from "../tasks/task-store.js";
import { createApprovalStore } from "./approval-store.js";
import { createApprovals } from "./approvals.js";
import type { Approvals, HeldTaskListener } from "./approvals.js";

/** Options of `createServiceApprovals`. */
export interface ServiceApprovalsOptions {
  readonly name: string;
  readonly dataDir: string;
  readonly store: TaskStore;
  /** The service's DelegationService implementation: an approved task runs through its Delegate. */
  readonly delegationImpl: MeshServiceImpl<typeof DelegationService>;
  readonly targets: (req: DelegateRequest) => readonly string[];
  readonly logger: Logger;
  readonly onDecision?: HeldTaskListener;
  /** The service's delegation metrics: approvals requested, denied and expired. */
  readonly metrics?: DelegationMetrics;
  /** How long an approval may be given; default 24 h. */
  readonly ttlMs?: number;
  /**
   * The service's policy step. An approved task passes it again (with the
   * approval in its input) before it runs, so it is counted against quotas and
   * meets any hard limit that applies by then.
   */
  readonly policy?: MeshInterceptor;
}

/**
 * Creates the approvals of a service, journaled in `<dataDir>/<name>.approvals.jsonl`,
 * sweeping expired ones. An approved task runs through the policy step (when
 * given), the idempotency step and the service's own Delegate, like any admitted
 * call.
 */
export function createServiceApprovals(o: ServiceApprovalsOptions): Approvals {
  const run = applyInterceptors(
    (call) => Promise.resolve(o.delegationImpl.delegate(call.message as DelegateRequest, call)),
    [...(o.policy === undefined ? [] : [o.policy]), createIdempotencyInterceptor(o.store, o.name)],
  );
  const approvals = createApprovals({
    approvals: createApprovalStore({ path: join(o.dataDir, `${o.name}.approvals.jsonl`), ...(o.ttlMs === undefined ? {} : { ttlMs: o.ttlMs }) }),
    tasks: o.store,
    agent: o.name,
    targets: o.targets,
    run,
    logger: o.logger,
    ...(o.onDecision === undefined ? {} : { onDecision: o.onDecision }),
    ...(o.metrics === undefined ? {} : { metrics: o.metrics }),
  });
  approvals.startSweeping();
  void approvals.recover().catch((err: unknown) => o.logger.error("could not act on journaled approval decisions", { error: String(err) }));
  return approvals;
}
