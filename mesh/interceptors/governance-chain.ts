/**
 * The governance chain, written once, outermost first. Every service, on every
 * protocol, runs its calls through exactly this order (DESIGN.md, "One delegation,
 * hop by hop"):
 *
 *   0 error boundary      only ConnectError leaves
 *   1 authenticate        verified token -> caller identity
 *   2 trace               continue or start the W3C trace: the call's SERVER span
 *   3 validate            proto rules + intent JSON Schema
 *   4 chain               depth, budget, caller, cycle
 *   5 policy              the policy slot: the OPA bundle on every service; a no-policy step where none is given (tests)
 *   5b approvals          holds what policy sends to a human; refuses it until configured
 *   6 idempotency         one execution per task id
 */
import type { MeshInterceptor } from "../call.js";
import type { TokenVerifier } from "../auth/tokens.js";
import type { ChainLimits } from "../chain/chain-limits.js";
import type { Logger } from "../logger.js";
import type { TaskStore } from "../tasks/task-store.js";
import type { Telemetry } from "../telemetry/start-telemetry.js";
import { createAuthInterceptor } from "./authenticate.js";
import { createChainInterceptor } from "./chain.js";
import { createErrorBoundaryInterceptor } from "./error-boundary.js";
import { createIdempotencyInterceptor } from "./idempotency.js";
import { createNoPolicyInterceptor } from "./policy-slot.js";
import { createNoApprovalsInterceptor } from "./approval-slot.js";
import { createTraceInterceptor } from "./trace.js";
import { createValidationInterceptor } from "./validate-request.js";
import type { ValidatorTable } from "./validate-request.js";

/** What the chain needs. */
export interface GovernanceOptions {
  readonly logger: Logger;
  readonly verifier: TokenVerifier;
  readonly validators: ValidatorTable;
  readonly chainLimits: ChainLimits;
  /** Name of the agent (or gateway) the chain guards. */
  readonly agent: string;
  /** True for an agent (checks cycles back to itself); false for the gateway, which checks the resolved target. */
  readonly checkSelfCycle: boolean;
  /** The policy step; the no-policy step when unset. */
  readonly policy?: MeshInterceptor;
  /** Audits Delegate refusals the policy step did not decide (mesh/audit/refusal-audit.ts); placed around authentication; none when unset. */
  readonly auditRefusals?: MeshInterceptor;
  /** The approval gate; one that refuses every call needing approval when unset. */
  readonly approvals?: MeshInterceptor;
  readonly tasks: TaskStore;
  /** The service's telemetry (mesh/telemetry/start-telemetry.ts), for the trace step. */
  readonly telemetry: Telemetry;
}

/** Returns the interceptors of the governance chain in order, outermost first. */
export function createGovernanceChain(o: GovernanceOptions): MeshInterceptor[] {
  return [
    createErrorBoundaryInterceptor(o.logger),
    ...(o.auditRefusals === undefined ? [] : [o.auditRefusals]),
    createAuthInterceptor(o.verifier),
    createTraceInterceptor(o.telemetry),
    createValidationInterceptor(o.validators),
    createChainInterceptor(o.checkSelfCycle ? { limits: o.chainLimits, agentName: o.agent } : { limits: o.chainLimits }),
    o.policy ?? createNoPolicyInterceptor(),
    o.approvals ?? createNoApprovalsInterceptor(),
    createIdempotencyInterceptor(o.tasks, o.agent),
  ];
}
