/**
 * Per-call state shared between the governance steps and the handler. The
 * authentication step sets the caller, the chain step the chain, and so on; later
 * steps and handlers read them. Nothing per-call lives in module state.
 */
import { createContextKey } from "@connectrpc/connect";
import type { PolicyDecision } from "../gen/agentmesh/v1/task_pb.js";
import type { Identity } from "./auth/identity.js";
import type { DelegationChain } from "./chain/delegation-chain.js";
import type { HopClaims } from "./chain/hop-token.js";
import type { TraceContext } from "./trace/trace-context.js";

/** The authenticated caller; set by the authentication step. */
export const callerKey = createContextKey<Identity | undefined>(undefined, { description: "authenticated caller" });

/** The delegation chain the call arrived with; set by the chain step. */
export const chainKey = createContextKey<DelegationChain | undefined>(undefined, { description: "delegation chain" });

/** The trace context of the call; set by the trace step. */
export const traceKey = createContextKey<TraceContext | undefined>(undefined, { description: "trace context" });

/** The policy decision that admitted the call; set by the policy step. */
export const decisionKey = createContextKey<PolicyDecision | undefined>(undefined, { description: "policy decision" });

/** The request inputs as plain JSON, converted once by the validation step. */
export const inputsKey = createContextKey<Record<string, unknown>>({}, { description: "request inputs as JSON" });

/** The execution claim of a Delegate call; set by the idempotency step. */
export const taskSignalKey = createContextKey<AbortSignal | undefined>(undefined, { description: "task cancellation signal" });

/**
 * A human approval that covers this exact request; set only by the mesh (when it
 * resumes an approved task, or from the gateway's signed hop token), never from
 * anything the caller sends. The policy step feeds it to the policy as
 * `input.approval`.
 */
export interface GrantedApproval {
  readonly approvalId: string;
  /** Subject of the approver. */
  readonly approver: string;
  /** The request digest the approval was given for. */
  readonly digest: string;
}

/** The approval covering the call, if any. */
export const approvalKey = createContextKey<GrantedApproval | undefined>(undefined, { description: "granted human approval" });

/** The gateway's hop token a call came with: the token as sent, and what it says. */
export interface ReceivedHopToken {
  readonly token: string;
  /** Undefined for a gateway token that carries no task (the one for Cancel). */
  readonly claims: HopClaims | undefined;
}

/**
 * The gateway's hop token, set by the authentication step when the call's bearer
 * token is the gateway's. The chain step takes a forwarded task's chain from it,
 * and the runtime sends it back as the proof of the task's sub-delegations.
 */
export const hopTokenKey = createContextKey<ReceivedHopToken | undefined>(undefined, { description: "gateway hop token" });

/**
 * The verified proof a (non-gateway) caller sent of the chain it delegates within;
 * set by the authentication step, read by the chain step.
 */
export const chainProofKey = createContextKey<HopClaims | undefined>(undefined, { description: "verified chain proof" });
