/**
 * `AuditService` on every service that runs a policy: read-only access to its
 * audit log, for auditors and approvers.
 */
import { Code } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { AuditService } from "../../gen/agentmesh/v1/audit_pb.js";
import type { QueryDecisionsRequest } from "../../gen/agentmesh/v1/audit_pb.js";
import type { MeshServiceImpl } from "../call.js";
import { callerKey } from "../context-keys.js";
import { invalidArgument, meshError } from "../errors.js";
import type { RequestValidator } from "../interceptors/validate-request.js";
import { methodKey } from "../interceptors/validate-request.js";
import { idPattern, intentPattern } from "../validation/delegate-request-rules.js";
import { describeViolations } from "../validation/json-schema.js";
import type { SchemaViolation } from "../validation/json-schema.js";
import type { AuditLog } from "./audit-log.js";

/** Roles that may read the audit log. */
const readers: ReadonlySet<string> = new Set(["auditor", "approver"]);

/** Records a query returns when it names no limit. */
export const defaultAuditQueryLimit = 100;
/** Most records one query may ask for. */
export const maxAuditQueryLimit = 1000;

/**
 * Creates the implementation over `log`. QueryDecisions answers matching records,
 * newest first; it throws PERMISSION_DENIED (reason `role_not_allowed`) for a
 * caller that is neither auditor nor approver.
 */
export function createAuditServiceImpl(log: AuditLog): MeshServiceImpl<typeof AuditService> {
  return {
    queryDecisions(req, call) {
      const caller = call.values.get(callerKey)!;
      if (!readers.has(caller.role)) {
        throw meshError(Code.PermissionDenied, `only auditors and approvers may read the audit log; the caller's role is ${caller.role}`, {
          reason: "role_not_allowed",
        });
      }
      const records = log.query({
        taskId: req.taskId,
        caller: req.caller,
        intent: req.intent,
        deniedOnly: req.deniedOnly,
        ...(req.since === undefined ? {} : { sinceMs: timestampMs(req.since) }),
        limit: req.limit === 0 ? defaultAuditQueryLimit : req.limit,
      });
      return Promise.resolve({ records });
    },
  };
}

/** Returns the validator of `QueryDecisions`, keyed by `methodKey`. */
export function createAuditValidators(): Map<string, RequestValidator> {
  const queryDecisions: RequestValidator = (msg) => {
    const req = msg as QueryDecisionsRequest;
    const violations: SchemaViolation[] = [];
    if (req.taskId !== "" && !idPattern.test(req.taskId)) violations.push({ field: "task_id", description: "must be 1 to 128 characters of [A-Za-z0-9._:-]" });
    if (req.intent !== "" && !intentPattern.test(req.intent)) violations.push({ field: "intent", description: "must be lowercase words joined by dots" });
    if (req.caller.length > 256) violations.push({ field: "caller", description: "must be at most 256 characters" });
    if (req.limit < 0 || req.limit > maxAuditQueryLimit) violations.push({ field: "limit", description: `must be between 0 and ${maxAuditQueryLimit}` });
    if (req.since !== undefined && (req.since.nanos < 0 || req.since.nanos > 999_999_999)) violations.push({ field: "since", description: "must be a valid timestamp" });
    if (violations.length > 0) throw invalidArgument(`invalid QueryDecisionsRequest: ${describeViolations(violations)}`, "request_invalid", violations);
  };
  return new Map([[methodKey(AuditService.method.queryDecisions), queryDecisions]]);
}
