/**
 * Everything a service needs to run under a policy bundle: the reloading engine,
 * the usage counters, the audit log, the policy step built on them and
 * `AuditService`. The agent and the gateway call this at start with the bundle in
 * AGENTMESH_POLICY_DIR (default: the repo's policy/build), unless they were
 * given a policy step of their own.
 */
import { AuditKind, AuditService } from "../../gen/agentmesh/v1/audit_pb.js";
import type { HeldTaskListener } from "../approvals/approvals.js";
import { approvalAuditRecord } from "../audit/approval-audit.js";
import { createRefusalAuditInterceptor } from "../audit/refusal-audit.js";
import { createAuditLog } from "../audit/audit-log.js";
import type { AuditLog } from "../audit/audit-log.js";
import { createAuditServiceImpl, createAuditValidators } from "../audit/audit-service.js";
import { bindService } from "../call.js";
import type { BoundService, MeshInterceptor } from "../call.js";
import type { RequestValidator } from "../interceptors/validate-request.js";
import type { Logger } from "../logger.js";
import type { DelegationMetrics } from "../telemetry/metrics.js";
import type { PolicyEngine } from "./policy-engine.js";
import { createPolicyInterceptor } from "./policy-interceptor.js";
import type { PolicyService } from "./policy-input.js";
import { createReloadingPolicy } from "./reloading-policy.js";
import type { ReloadingPolicy } from "./reloading-policy.js";
import { createUsageCounters } from "./usage-counters.js";

/** Options of `startPolicy`. */
export interface StartPolicyOptions {
  /** The built bundle (policy.wasm, data.json, manifest.json). */
  readonly dir: string;
  /** The audit log file. */
  readonly auditPath: string;
  readonly service: PolicyService;
  readonly logger: Logger;
  /** Told of every refusal of the policy step. */
  readonly metrics?: DelegationMetrics;
}

/** A service's running policy; see `startPolicy`. */
export interface RunningPolicy {
  /** The policy step for the governance chain. */
  readonly interceptor: MeshInterceptor;
  /** Audits Delegate calls refused before the policy step (placed after authentication). */
  readonly refusals: MeshInterceptor;
  readonly engine: ReloadingPolicy;
  readonly audit: AuditLog;
  /** Validators of the services below, for the governance chain's table. */
  readonly validators: ReadonlyMap<string, RequestValidator>;
  /**
   * Records a human decision (or an expiry) on one of the service's approvals as
   * an APPROVAL_DECISION; pass it as the approvals' `onDecision`.
   */
  readonly recordApproval: HeldTaskListener;
  /** The services to serve next to the service's own: `AuditService` over `audit`. */
  services(chain: readonly MeshInterceptor[]): BoundService[];
  /** Stops watching the bundle and closes the audit log. */
  close(): Promise<void>;
}

/**
 * Loads the bundle in `dir` (following later changes) and opens the audit log,
 * which records a POLICY_RELOAD for the bundle loaded now and for every reload.
 * Throws `PolicyBundleError` when the bundle cannot be loaded: the service must
 * not start without its policy.
 */
export async function startPolicy(o: StartPolicyOptions): Promise<RunningPolicy> {
  const audit = createAuditLog(o.auditPath, { logger: o.logger });
  const recordLoad = (engine: PolicyEngine, previous?: PolicyEngine) => {
    const digest = engine.digest === "" ? "" : ` (digest ${engine.digest})`;
    const message = `loaded policy revision ${engine.revision}${digest}${previous === undefined ? " at start" : `, replacing ${previous.revision}`}`;
    audit.record({ kind: AuditKind.POLICY_RELOAD, service: o.service.name, decision: { revision: engine.revision, reasons: [{ code: "policy_loaded", message }] } });
  };
  let engine: ReloadingPolicy;
  try {
    engine = await createReloadingPolicy(o.dir, { logger: o.logger, onReload: recordLoad });
  } catch (err) {
    await audit.close();
    throw err;
  }
  recordLoad(engine);
  o.logger.info("policy loaded", { dir: o.dir, revision: engine.revision, digest: engine.digest });
  return {
    interceptor: createPolicyInterceptor({ engine, service: o.service, quotas: createUsageCounters(), audit, logger: o.logger, ...(o.metrics === undefined ? {} : { metrics: o.metrics }) }),
    refusals: createRefusalAuditInterceptor(audit, o.service.name),
    engine,
    audit,
    recordApproval: (held) => {
      audit.record(approvalAuditRecord(o.service.name, held));
    },
    validators: createAuditValidators(),
    services: (chain) => [bindService(AuditService, createAuditServiceImpl(audit), chain)],
    async close() {
      engine.close();
      await audit.close();
    },
  };
}
