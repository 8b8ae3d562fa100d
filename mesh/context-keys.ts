/**
 * Per-call state shared between the governance steps and the handler. The
 * authentication step sets the caller, the chain step the chain, and so on; later
 * steps and handlers read them. Nothing per-call lives in module state.
 */
import { createContextKey } from "@connectrpc/connect";
import type { PolicyDecision } from "../gen/agentmesh/v1/task_pb.js";
import type { Identity } from "./auth/identity.js";
import type { DelegationChain } from "./chain/delegation-chain.js";
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
