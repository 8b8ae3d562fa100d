import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { DelegateRequestSchema } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest } from "../../gen/agentmesh/v1/delegation_pb.js";
import { constraintDeadlineMs, delegateRequestViolations, effectiveDeadlineMs, idPattern, intentPattern } from "./delegate-request-rules.js";
import type { SchemaViolation } from "./json-schema.js";

/** The plain-object form of a request init (not an already-built message). */
type RequestInit = Exclude<MessageInitShape<typeof DelegateRequestSchema>, DelegateRequest>;

const base: RequestInit = { taskId: "t-1", intent: "copy.draft" };
const request = (init: Partial<RequestInit> = {}) => create(DelegateRequestSchema, { ...base, ...init });
const digest = `sha256:${"ab".repeat(32)}`;

const idRule = "must be 1 to 128 characters of [A-Za-z0-9._:-]";
const intentRule = 'must be lowercase words joined by dots, e.g. "copy.draft"';

describe("delegateRequestViolations", () => {
  it.each<[string, Partial<RequestInit>, SchemaViolation[]]>([
    ["a minimal request", {}, []],
    [
      "a request using every field correctly",
      {
        taskId: "Campaign_2025.q1:t-0001",
        correlationId: "corr-1",
        intent: "leads.segment-by-region.v2",
        inputs: { brief: { tone: "bold" } },
        constraints: { maxCostMicros: 0n, maxTokens: 10n, allowedTools: ["csv.parse"], deadline: timestampFromMs(Date.UTC(2030, 0, 1)) },
        successCriteria: { minConfidence: 1, criteria: [{ description: "has a headline", outputsSchema: { type: "object" } }] },
        slo: { targetDuration: { seconds: 2n, nanos: 0 } },
        artifacts: [{ uri: "file:///tmp/leads.csv", digest, sizeBytes: 0n }],
      },
      [],
    ],
    ["an empty task id", { taskId: "" }, [{ field: "task_id", description: idRule }]],
    ["a task id of 129 characters", { taskId: "a".repeat(129) }, [{ field: "task_id", description: idRule }]],
    ["a task id with a slash", { taskId: "t/1" }, [{ field: "task_id", description: idRule }]],
    ["a task id with a space", { taskId: "t 1" }, [{ field: "task_id", description: idRule }]],
    ["a correlation id with a space", { correlationId: "corr 1" }, [{ field: "correlation_id", description: idRule }]],
    ["an empty intent", { intent: "" }, [{ field: "intent", description: intentRule }]],
    ["a one-word intent", { intent: "copy" }, [{ field: "intent", description: intentRule }]],
    ["an upper-case intent", { intent: "Copy.Draft" }, [{ field: "intent", description: intentRule }]],
    ["an intent with an empty word", { intent: "copy..draft" }, [{ field: "intent", description: intentRule }]],
    ["an intent word starting with a digit", { intent: "copy.2draft" }, [{ field: "intent", description: intentRule }]],
    ["a negative cost cap", { constraints: { maxCostMicros: -1n } }, [{ field: "constraints.max_cost_micros", description: "must not be negative" }]],
    ["a negative token cap", { constraints: { maxTokens: -1n } }, [{ field: "constraints.max_tokens", description: "must not be negative" }]],
    [
      "empty allowed tools",
      { constraints: { allowedTools: ["csv.parse", "", "http.get", ""] } },
      [
        { field: "constraints.allowed_tools[1]", description: "must not be empty" },
        { field: "constraints.allowed_tools[3]", description: "must not be empty" },
      ],
    ],
    ["a min confidence above 1", { successCriteria: { minConfidence: 1.5 } }, [{ field: "success_criteria.min_confidence", description: "must be between 0 and 1" }]],
    ["a negative min confidence", { successCriteria: { minConfidence: -0.1 } }, [{ field: "success_criteria.min_confidence", description: "must be between 0 and 1" }]],
    ["a NaN min confidence", { successCriteria: { minConfidence: Number.NaN } }, [{ field: "success_criteria.min_confidence", description: "must be between 0 and 1" }]],
    [
      "a criterion without an outputs schema",
      { successCriteria: { criteria: [{ description: "ok", outputsSchema: { type: "object" } }, { description: "missing" }] } },
      [{ field: "success_criteria.criteria[1].outputs_schema", description: "is required" }],
    ],
    ["a negative SLO in seconds", { slo: { targetDuration: { seconds: -1n } } }, [{ field: "slo.target_duration", description: "must not be negative" }]],
    ["a negative SLO in nanos", { slo: { targetDuration: { nanos: -1 } } }, [{ field: "slo.target_duration", description: "must not be negative" }]],
    [
      "a broken artifact",
      { artifacts: [{ uri: "file:///ok", digest, sizeBytes: 1n }, { uri: "", digest: "md5:abc", sizeBytes: -1n }] },
      [
        { field: "artifacts[1].uri", description: "is required" },
        { field: "artifacts[1].digest", description: 'must be "sha256:" and 64 hex digits' },
        { field: "artifacts[1].size_bytes", description: "must not be negative" },
      ],
    ],
    [
      "an artifact digest in upper-case hex",
      { artifacts: [{ uri: "file:///ok", digest: `sha256:${"AB".repeat(32)}` }] },
      [{ field: "artifacts[0].digest", description: 'must be "sha256:" and 64 hex digits' }],
    ],
    [
      "every rule broken at once, in field order",
      {
        taskId: "",
        correlationId: "a b",
        intent: "x",
        constraints: { maxCostMicros: -1n, maxTokens: -2n, allowedTools: [""] },
        successCriteria: { minConfidence: 2, criteria: [{}] },
        slo: { targetDuration: { seconds: -3n } },
        artifacts: [{}],
      },
      [
        { field: "task_id", description: idRule },
        { field: "correlation_id", description: idRule },
        { field: "intent", description: intentRule },
        { field: "constraints.max_cost_micros", description: "must not be negative" },
        { field: "constraints.max_tokens", description: "must not be negative" },
        { field: "constraints.allowed_tools[0]", description: "must not be empty" },
        { field: "success_criteria.min_confidence", description: "must be between 0 and 1" },
        { field: "success_criteria.criteria[0].outputs_schema", description: "is required" },
        { field: "slo.target_duration", description: "must not be negative" },
        { field: "artifacts[0].uri", description: "is required" },
        { field: "artifacts[0].digest", description: 'must be "sha256:" and 64 hex digits' },
      ],
    ],
  ])("for %s returns the exact violations", (_name, init, expected) => {
    expect(delegateRequestViolations(request(init))).toEqual(expected);
  });
});

describe("idPattern and intentPattern", () => {
  it.each<[string, boolean]>([
    ["a", true],
    ["a".repeat(128), true],
    ["A-z_0.9:x", true],
    ["", false],
    ["a".repeat(129), false],
    ["é", false],
  ])("idPattern accepts %j: %s", (id, ok) => {
    expect(idPattern.test(id)).toBe(ok);
  });

  it.each<[string, boolean]>([
    ["copy.draft", true],
    ["a.b.c", true],
    ["leads.segment-v2", true],
    ["copy", false],
    [".copy.draft", false],
    ["copy.draft.", false],
    ["copy_draft.x", false],
  ])("intentPattern accepts %j: %s", (intent, ok) => {
    expect(intentPattern.test(intent)).toBe(ok);
  });
});

describe("effectiveDeadlineMs", () => {
  const own = Date.UTC(2030, 0, 1, 12);
  const withDeadline = request({ constraints: { deadline: timestampFromMs(own) } });
  const withoutDeadline = request({ constraints: { maxTokens: 5n } });

  it.each<[string, number | undefined, ReturnType<typeof request>, number | undefined]>([
    ["neither is set", undefined, request(), undefined],
    ["constraints carry no deadline and there is no RPC deadline", undefined, withoutDeadline, undefined],
    ["only the RPC deadline is set", own - 1, withoutDeadline, own - 1],
    ["only the request's deadline is set", undefined, withDeadline, own],
    ["the RPC deadline is earlier", own - 1, withDeadline, own - 1],
    ["the request's deadline is earlier", own + 1, withDeadline, own],
  ])("returns the earlier deadline when %s", (_name, rpc, req, expected) => {
    expect(effectiveDeadlineMs(rpc, req)).toBe(expected);
  });

  it("reads the request's own deadline in epoch ms, keeping milliseconds", () => {
    expect(constraintDeadlineMs(request({ constraints: { deadline: timestampFromMs(own + 250) } }))).toBe(own + 250);
    expect(constraintDeadlineMs(request())).toBeUndefined();
  });
});
