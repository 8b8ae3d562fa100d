import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CancelRequestSchema, DelegateRequestSchema, DelegationService, GetResultRequestSchema, WatchResultRequestSchema } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { MeshCall } from "../call.js";
import { inputsKey } from "../context-keys.js";
import { errorDetailOf, violationsOf } from "../errors.js";
import { methodKey } from "../interceptors/validate-request.js";
import type { RequestValidator } from "../interceptors/validate-request.js";
import { createDelegationValidators, defaultMaxInlineBytes, validateTaskId } from "./delegation-validators.js";
import type { IntentCatalog } from "./delegation-validators.js";
import { createSchemaValidator } from "./json-schema.js";

const draftSchema: Record<string, unknown> = {
  type: "object",
  required: ["brief"],
  properties: {
    brief: {
      type: "object",
      required: ["tone", "product"],
      properties: { tone: { type: "string" }, product: { type: "string" }, notes: { type: "string" } },
    },
  },
};
const schemasByIntent = new Map<string, Record<string, unknown>>([
  ["copy.draft", draftSchema],
  ["text.summarize", { type: "object" }],
]);
const catalog: IntentCatalog = { inputSchema: (intent) => schemasByIntent.get(intent) };

/**
 * Stands in for a whole MeshCall: the Delegate validator reads and writes only
 * `call.values`, so that is all this fake provides.
 */
function fakeCallWithValuesOnly(): MeshCall {
  return { values: createContextValues() } as unknown as MeshCall;
}

const m = DelegationService.method;
const validatorsWith = (maxInlineBytes?: number) =>
  createDelegationValidators({ catalog, schemas: createSchemaValidator(), ...(maxInlineBytes === undefined ? {} : { maxInlineBytes }) });
function validatorOf(validators: Map<string, RequestValidator>, key: string): RequestValidator {
  const v = validators.get(key);
  if (v === undefined) throw new Error(`no validator for ${key}`);
  return v;
}

const brief = { tone: "bold", product: "Acme" };
const delegate = (init: Partial<Exclude<MessageInitShape<typeof DelegateRequestSchema>, DelegateRequest>>) =>
  create(DelegateRequestSchema, { taskId: "t-1", intent: "copy.draft", inputs: { brief }, ...init });

function connectErrorOf(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error("expected a ConnectError, but nothing was thrown");
}

const plainViolations = (err: ConnectError) => violationsOf(err).map(({ field, description }) => ({ field, description }));

describe("createDelegationValidators", () => {
  it("has a validator for each of the four DelegationService methods", () => {
    expect([...validatorsWith().keys()]).toEqual([
      "agentmesh.v1.DelegationService/Delegate",
      "agentmesh.v1.DelegationService/GetResult",
      "agentmesh.v1.DelegationService/WatchResult",
      "agentmesh.v1.DelegationService/Cancel",
    ]);
    expect(DelegationService.methods.map((method) => methodKey(method)).sort()).toEqual([...validatorsWith().keys()].sort());
  });

  describe("Delegate", () => {
    const validate = (req: ReturnType<typeof delegate>, maxInlineBytes?: number) => {
      const call = fakeCallWithValuesOnly();
      validatorOf(validatorsWith(maxInlineBytes), methodKey(m.delegate))(req, call);
      return call;
    };

    it("accepts a valid request and stores its inputs as JSON in the call values", () => {
      const inputs = { brief: { ...brief, notes: "launch week" } };
      const call = validate(delegate({ inputs, constraints: { deadline: timestampFromMs(Date.now() + 60_000) } }));
      expect(call.values.get(inputsKey)).toEqual(inputs);
    });

    it("treats absent inputs as an empty object", () => {
      const call = validate(delegate({ intent: "text.summarize", inputs: undefined }));
      expect(call.values.get(inputsKey)).toEqual({});
    });

    it("throws INVALID_ARGUMENT request_invalid with every proto-level violation", () => {
      const err = connectErrorOf(() => validate(delegate({ taskId: "", intent: "Copy", constraints: { maxTokens: -1n } })));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toBe(
        "invalid DelegateRequest: task_id must be 1 to 128 characters of [A-Za-z0-9._:-]; " +
          'intent must be lowercase words joined by dots, e.g. "copy.draft"; constraints.max_tokens must not be negative',
      );
      expect(errorDetailOf(err)?.reason).toBe("request_invalid");
      expect(plainViolations(err)).toEqual([
        { field: "task_id", description: "must be 1 to 128 characters of [A-Za-z0-9._:-]" },
        { field: "intent", description: 'must be lowercase words joined by dots, e.g. "copy.draft"' },
        { field: "constraints.max_tokens", description: "must not be negative" },
      ]);
    });

    it("throws INVALID_ARGUMENT unknown_intent when no card declares the intent", () => {
      const err = connectErrorOf(() => validate(delegate({ intent: "x.y" })));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toBe('unknown intent "x.y": no agent card declares it');
      const detail = errorDetailOf(err);
      expect(detail?.reason).toBe("unknown_intent");
      expect(detail?.metadata).toEqual({ intent: "x.y" });
    });

    it("throws INVALID_ARGUMENT input_schema_violation with the violations of the intent's schema", () => {
      const err = connectErrorOf(() => validate(delegate({ inputs: { brief: { tone: 5 } } })));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toBe(
        "inputs do not match the schema of copy.draft: inputs.brief.product is required; inputs.brief.tone must be string",
      );
      expect(errorDetailOf(err)?.reason).toBe("input_schema_violation");
      expect(plainViolations(err)).toEqual([
        { field: "inputs.brief.product", description: "is required" },
        { field: "inputs.brief.tone", description: "must be string" },
      ]);
    });

    it("throws input_schema_violation for absent inputs when the schema requires some", () => {
      const err = connectErrorOf(() => validate(delegate({ inputs: undefined })));
      expect([err.code, errorDetailOf(err)?.reason]).toEqual([Code.InvalidArgument, "input_schema_violation"]);
      expect(plainViolations(err)).toEqual([{ field: "inputs.brief", description: "is required" }]);
    });

    it.each<[string, Record<string, string>, number, boolean]>([
      // {"t":"<n>"} is 8 bytes plus the text.
      ["inputs exactly at the limit", { t: "x".repeat(56) }, 64, true],
      ["inputs one byte over the limit", { t: "x".repeat(57) }, 64, false],
      // Bytes, not characters: "é" is two bytes in UTF-8.
      ["multi-byte text over the limit in bytes", { t: "éé" }, 11, false],
    ])("checks %s", (_name, inputs, limit, ok) => {
      const req = delegate({ intent: "text.summarize", inputs });
      if (ok) {
        expect(validate(req, limit).values.get(inputsKey)).toEqual(inputs);
        return;
      }
      const bytes = Buffer.byteLength(JSON.stringify(inputs));
      const err = connectErrorOf(() => validate(req, limit));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toBe(
        `inputs are ${bytes} bytes, over the ${limit}-byte inline limit: upload large content as an artifact (PUT /v1/artifacts?task_id=<task id> on the gateway's artifact endpoint, or \`agentmesh artifacts put <file> --task <task id>\`) and pass the reference it returns in \`artifacts\``,
      );
      const detail = errorDetailOf(err);
      expect(detail?.reason).toBe("inputs_too_large");
      expect(detail?.metadata).toEqual({ bytes: String(bytes), limit: String(limit) });
    });

    it("defaults the inline limit to 256 KiB", () => {
      expect(defaultMaxInlineBytes).toBe(262_144);
      const inputs = { t: "x".repeat(defaultMaxInlineBytes) };
      const err = connectErrorOf(() => validate(delegate({ intent: "text.summarize", inputs })));
      expect(errorDetailOf(err)?.metadata).toEqual({ bytes: String(defaultMaxInlineBytes + 8), limit: "262144" });
    });

    it("throws DEADLINE_EXCEEDED deadline_passed for a deadline in the past, before looking the intent up", () => {
      const deadline = Date.UTC(2020, 0, 1);
      const err = connectErrorOf(() => validate(delegate({ intent: "x.y", constraints: { deadline: timestampFromMs(deadline) } })));
      expect(err.code).toBe(Code.DeadlineExceeded);
      expect(err.rawMessage).toBe("the task deadline 2020-01-01T00:00:00.000Z has already passed");
      expect(errorDetailOf(err)?.reason).toBe("deadline_passed");
    });

    it("leaves the call values untouched when it refuses a request", () => {
      const call = fakeCallWithValuesOnly();
      expect(() => validatorOf(validatorsWith(), methodKey(m.delegate))(delegate({ intent: "x.y" }), call)).toThrow(ConnectError);
      expect(call.values.get(inputsKey)).toEqual({});
    });
  });

  describe.each([
    ["GetResult", methodKey(m.getResult), (taskId: string) => create(GetResultRequestSchema, { taskId })],
    ["WatchResult", methodKey(m.watchResult), (taskId: string) => create(WatchResultRequestSchema, { taskId })],
    ["Cancel", methodKey(m.cancel), (taskId: string) => create(CancelRequestSchema, { taskId, reason: "stop" })],
  ])("%s", (_name, key, request) => {
    it("accepts a well-formed task id", () => {
      expect(() => validatorOf(validatorsWith(), key)(request("t-1"), fakeCallWithValuesOnly())).not.toThrow();
    });

    it.each(["", "t 1", "a".repeat(129)])("throws INVALID_ARGUMENT request_invalid for task id %j", (taskId) => {
      const err = connectErrorOf(() => validatorOf(validatorsWith(), key)(request(taskId), fakeCallWithValuesOnly()));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toBe("invalid task_id: must be 1 to 128 characters of [A-Za-z0-9._:-]");
      expect(errorDetailOf(err)?.reason).toBe("request_invalid");
      expect(plainViolations(err)).toEqual([{ field: "task_id", description: "must be 1 to 128 characters of [A-Za-z0-9._:-]" }]);
    });
  });
});

describe("validateTaskId", () => {
  it("accepts a task id of 128 characters", () => {
    expect(() => validateTaskId("a".repeat(128))).not.toThrow();
  });
});
