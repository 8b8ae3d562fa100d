/**
 * Validators for `DelegationService` requests: the proto-level rules, the task
 * deadline, the inline size limit and the intent's input JSON Schema.
 */
import { Code } from "@connectrpc/connect";
import {
  DelegationService,
} from "../../gen/agentmesh/v1/delegation_pb.js";
import type { CancelRequest, DelegateRequest, GetResultRequest, WatchResultRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import { inputsKey } from "../context-keys.js";
import { invalidArgument, meshError } from "../errors.js";
import { methodKey } from "../interceptors/validate-request.js";
import type { RequestValidator } from "../interceptors/validate-request.js";
import type { MeshCall } from "../call.js";
import { constraintDeadlineMs, delegateRequestViolations, idPattern } from "./delegate-request-rules.js";
import { describeViolations } from "./json-schema.js";
import type { SchemaValidator } from "./json-schema.js";

/** Where the validator finds the input schema of an intent. */
export interface IntentCatalog {
  /** The input JSON Schema of `intent`, or undefined when no agent declares the intent. */
  inputSchema(intent: string): Record<string, unknown> | undefined;
}

/** Options of `createDelegationValidators`. */
export interface DelegationValidatorOptions {
  readonly catalog: IntentCatalog;
  readonly schemas: SchemaValidator;
  /** Largest inline `inputs`, as JSON bytes; default 256 KiB. */
  readonly maxInlineBytes?: number;
  /**
   * True when the task id already has a final result. Such a request skips the
   * deadline check, so a retry after the deadline still reads the stored result
   * (the idempotency step answers it, or refuses a different request).
   */
  readonly isSettled?: (taskId: string) => boolean;
  /**
   * Checks the request's artifact references (the gateway's: mesh/artifacts,
   * `createArtifactRefCheck`); throws INVALID_ARGUMENT. Default: none.
   */
  readonly checkArtifacts?: (req: DelegateRequest, call: MeshCall) => void;
}

/** How to send what is too large to go inline; the end of the `inputs_too_large` message. */
export const artifactHint =
  "upload large content as an artifact (PUT /v1/artifacts?task_id=<task id> on the gateway's artifact endpoint, or " +
  "`agentmesh artifacts put <file> --task <task id>`) and pass the reference it returns in `artifacts`";

/** Default inline inputs limit: larger content travels as an artifact. */
export const defaultMaxInlineBytes = 256 * 1024;

/** Returns the validators of the four `DelegationService` methods, keyed by `methodKey`. */
export function createDelegationValidators(options: DelegationValidatorOptions): Map<string, RequestValidator> {
  const maxInline = options.maxInlineBytes ?? defaultMaxInlineBytes;
  const m = DelegationService.method;
  const taskIdOnly: RequestValidator = (msg) => validateTaskId((msg as GetResultRequest | WatchResultRequest | CancelRequest).taskId);
  const delegate: RequestValidator = (msg, call) => {
    const req = msg as DelegateRequest;
    const violations = delegateRequestViolations(req);
    if (violations.length > 0) {
      throw invalidArgument(`invalid DelegateRequest: ${describeViolations(violations)}`, "request_invalid", violations);
    }
    const deadline = constraintDeadlineMs(req);
    if (deadline !== undefined && deadline <= Date.now() && options.isSettled?.(req.taskId) !== true) {
      throw meshError(Code.DeadlineExceeded, `the task deadline ${new Date(deadline).toISOString()} has already passed`, {
        reason: "deadline_passed",
      });
    }
    const schema = options.catalog.inputSchema(req.intent);
    if (schema === undefined) {
      throw meshError(Code.InvalidArgument, `unknown intent "${req.intent}": no agent card declares it`, {
        reason: "unknown_intent",
        metadata: { intent: req.intent },
      });
    }
    const inputs: Record<string, unknown> = req.inputs ?? {};
    const bytes = Buffer.byteLength(JSON.stringify(inputs));
    if (bytes > maxInline) {
      throw meshError(
        Code.InvalidArgument,
        `inputs are ${bytes} bytes, over the ${maxInline}-byte inline limit: ${artifactHint}`,
        { reason: "inputs_too_large", metadata: { bytes: String(bytes), limit: String(maxInline) } },
      );
    }
    const schemaViolations = options.schemas.validate(schema, inputs, "inputs");
    if (schemaViolations.length > 0) {
      throw invalidArgument(`inputs do not match the schema of ${req.intent}: ${describeViolations(schemaViolations)}`, "input_schema_violation", schemaViolations);
    }
    options.checkArtifacts?.(req, call);
    call.values.set(inputsKey, inputs);
  };
  return new Map([
    [methodKey(m.delegate), delegate],
    [methodKey(m.getResult), taskIdOnly],
    [methodKey(m.watchResult), taskIdOnly],
    [methodKey(m.cancel), taskIdOnly],
  ]);
}

/** Throws INVALID_ARGUMENT unless `taskId` is a well-formed task id. */
export function validateTaskId(taskId: string): void {
  if (!idPattern.test(taskId)) {
    throw invalidArgument("invalid task_id: must be 1 to 128 characters of [A-Za-z0-9._:-]", "request_invalid", [
      { field: "task_id", description: "must be 1 to 128 characters of [A-Za-z0-9._:-]" },
    ]);
  }
}
