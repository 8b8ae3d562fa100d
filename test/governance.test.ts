/**
 * The governance chain against a real gateway and worker on loopback: every kind
 * of bad input gets its exact status code, message and machine-readable reason,
 * on the gRPC and the Connect protocol alike; idempotency, chain and deadline
 * rules hold across hops.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DelegateRequestSchema } from "../gen/agentmesh/v1/delegation_pb.js";
import {
  agentAudience, chainHeader, createGrpcClient, createHopTokenIssuer, emptyChain, ensureDevKeys, errorDetailOf, forwardedCallerHeader, forwardedRoleHeader, issueToken, loadSigningKey,
} from "../mesh/index.js";
import type { GrpcClient } from "../mesh/index.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { rejection } from "./support/rejection.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

let mesh: TestMesh;
let client: GrpcClient;
let token: string;
const log = createExecutionLog();

beforeAll(async () => {
  mesh = await startTestMesh();
  await mesh.startAgent("worker-a", testIntents(log));
  client = createGrpcClient(mesh.grpcAddress);
  token = await mesh.token();
});

afterAll(async () => {
  client.close();
  await mesh.stop();
});

type Req = MessageInitShape<typeof DelegateRequestSchema>;
let seq = 0;
const id = (p: string) => `${p}-${++seq}`;

async function grpcDelegate(req: Req, metadata: Record<string, string> = { authorization: `Bearer ${token}` }, deadlineMs = 10_000) {
  return client.unary(DelegationService.method.delegate, req, { metadata, deadline: Date.now() + deadlineMs });
}

const grpcError = (req: Req, metadata?: Record<string, string>): Promise<ConnectError> => rejection(grpcDelegate(req, metadata));

/** Calls Delegate with plain JSON over the Connect protocol, as curl would. */
async function connectDelegate(body: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) {
  const res = await fetch(`${mesh.connectUrl}/agentmesh.v1.DelegationService/Delegate`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { code?: string; message?: string; details?: { type: string }[]; result?: Record<string, unknown> } };
}

const forgedToken = async () => {
  const dir = mkdtempSync(join(tmpdir(), "agentmesh-forger-"));
  try {
    const { signingKeyPath } = await ensureDevKeys(dir);
    return await issueToken(await loadSigningKey(signingKeyPath), { subject: "mallory", role: "supervisor" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

describe("bad input over gRPC", () => {
  it.each<[string, () => Promise<[Req, Record<string, string> | undefined]> | [Req, Record<string, string> | undefined], Code, string, string]>([
    ["unknown intent", () => [{ taskId: id("t"), intent: "test.nope", inputs: {} }, undefined], Code.InvalidArgument, 'unknown intent "test.nope": no agent card declares it', "unknown_intent"],
    ["inputs that break the schema", () => [{ taskId: id("t"), intent: "test.echo", inputs: { text: 5 } }, undefined], Code.InvalidArgument, "inputs do not match the schema of test.echo: inputs.text must be string", "input_schema_violation"],
    ["a missing token", () => [{ taskId: id("t"), intent: "test.echo", inputs: { text: "x" } }, {}], Code.Unauthenticated, "missing bearer token: send the header 'authorization: Bearer <token>'", "token_missing"],
    ["a forged token", async () => [{ taskId: id("t"), intent: "test.echo", inputs: { text: "x" } }, { authorization: `Bearer ${await forgedToken()}` }], Code.Unauthenticated, "invalid bearer token: signature verification failed", "token_invalid"],
    ["a malformed token", () => [{ taskId: id("t"), intent: "test.echo", inputs: { text: "x" } }, { authorization: "Bearer not.a.jwt" }], Code.Unauthenticated, "invalid bearer token: malformed token", "token_invalid"],
    ["a bad task id", () => [{ taskId: "has spaces", intent: "test.echo", inputs: { text: "x" } }, undefined], Code.InvalidArgument, "invalid DelegateRequest: task_id must be 1 to 128 characters of [A-Za-z0-9._:-]", "request_invalid"],
    ["an expired task deadline", () => [{ taskId: id("t"), intent: "test.echo", inputs: { text: "x" }, constraints: { deadline: timestampFromMs(Date.UTC(2020, 0, 1)) } }, undefined], Code.DeadlineExceeded, "the task deadline 2020-01-01T00:00:00.000Z has already passed", "deadline_passed"],
    ["inline inputs over the limit", () => [{ taskId: id("t"), intent: "test.echo", inputs: { text: "a".repeat(300_000) } }, undefined], Code.InvalidArgument, "inputs are 300011 bytes, over the 262144-byte inline limit: upload large content as an artifact (PUT /v1/artifacts?task_id=<task id> on the gateway's artifact endpoint, or `agentmesh artifacts put <file> --task <task id>`) and pass the reference it returns in `artifacts`", "inputs_too_large"],
    // The chain as it once travelled, unsigned (base64url JSON): a forgery now.
    ["a chain forged by the caller", () => [{ taskId: id("t"), intent: "test.echo", inputs: { text: "x" } }, { authorization: `Bearer ${token}`, [chainHeader]: Buffer.from(JSON.stringify({ v: 1, hops: [{ a: "supervisor", i: "campaign.launch", t: "x" }] })).toString("base64url") }], Code.Unauthenticated, "the agentmesh-chain header is not a delegation chain signed by the mesh: malformed token", "chain_invalid"],
  ])("refuses %s", async (_name, make, code, message, reason) => {
    const [req, md] = await make();
    const err = await grpcError(req, md);
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([code, message, reason]);
  });

  it("lists every schema violation as a field violation", async () => {
    const err = await grpcError({ taskId: id("t"), intent: "test.echo", inputs: { text: 5, extra: true } });
    expect(errorDetailOf(err)?.violations.map((v) => [v.field, v.description])).toEqual([
      ["inputs.extra", "is not allowed by the schema"],
      ["inputs.text", "must be string"],
    ]);
  });

  it("refuses an oversized message with RESOURCE_EXHAUSTED before decoding it", async () => {
    const err = await grpcError({ taskId: id("t"), intent: "test.echo", inputs: { text: "a".repeat(5 * 1024 * 1024) } });
    // grpc-js refuses it before any mesh code runs, so no ErrorDetail: the client
    // says so generically and keeps grpc-js's own text on the cause (grpc-client.ts).
    expect([err.code, err.rawMessage, errorDetailOf(err)]).toEqual([Code.ResourceExhausted, "the message is larger than this hop accepts", undefined]);
    expect((err.cause as { details?: string }).details).toMatch(/^Received message larger than max \(\d+ vs 4194304\)$/);
  });

  it("answers DEADLINE_EXCEEDED when the RPC deadline passes mid-task, and the task can be retried", async () => {
    const taskId = id("slow");
    const req = { taskId, intent: "test.sleep", inputs: { ms: 700 } };
    await expect(grpcDelegate(req, undefined, 200)).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    const res = await grpcDelegate(req);
    expect([res.result?.state, res.result?.outputs]).toEqual([TaskState.COMPLETED, { slept: 700 }]);
    expect(log.entries.filter((e) => e === taskId)).toEqual([taskId, taskId]);
  });
});

describe("the same checks over the Connect protocol (JSON, as curl sends it)", () => {
  it("completes a valid call with the same result shape", async () => {
    const { status, json } = await connectDelegate({ taskId: id("c"), intent: "test.echo", inputs: { text: "over connect" } });
    expect(status).toBe(200);
    expect(json.result).toMatchObject({ intent: "test.echo", agent: "worker-a", state: "TASK_STATE_COMPLETED", outputs: { text: "over connect" } });
  });

  it.each<[string, unknown, Record<string, string> | undefined, number, string, string]>([
    ["unknown intent", { taskId: "c-unknown", intent: "test.nope", inputs: {} }, undefined, 400, "invalid_argument", 'unknown intent "test.nope": no agent card declares it'],
    ["a schema violation", { taskId: "c-schema", intent: "test.echo", inputs: { text: 5 } }, undefined, 400, "invalid_argument", "inputs do not match the schema of test.echo: inputs.text must be string"],
    ["a missing token", { taskId: "c-token", intent: "test.echo", inputs: { text: "x" } }, {}, 401, "unauthenticated", "missing bearer token: send the header 'authorization: Bearer <token>'"],
  ])("refuses %s", async (_name, body, headers, status, code, message) => {
    const res = await connectDelegate(body, headers);
    expect([res.status, res.json.code, res.json.message, res.json.details?.[0]?.type]).toEqual([status, code, message, "agentmesh.v1.ErrorDetail"]);
  });
});

describe("idempotency across the gateway", () => {
  it("runs two identical concurrent requests once and returns the same result to both", async () => {
    const taskId = id("dup");
    const req = { taskId, intent: "test.sleep", inputs: { ms: 200 } };
    const [a, b] = await Promise.all([grpcDelegate(req), grpcDelegate(req)]);
    expect(a.result).toEqual(b.result);
    expect(log.entries.filter((e) => e === taskId)).toEqual([taskId]);
    const again = await grpcDelegate(req);
    expect(again.result).toEqual(a.result);
    expect(log.entries.filter((e) => e === taskId)).toEqual([taskId]);
  });

  it("refuses the same task id for a different request with ALREADY_EXISTS", async () => {
    const taskId = id("reuse");
    await grpcDelegate({ taskId, intent: "test.echo", inputs: { text: "first" } });
    const err = await grpcError({ taskId, intent: "test.echo", inputs: { text: "second" } });
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([Code.AlreadyExists, `task id ${taskId} was already used for a different request; choose a new task id`, "task_id_conflict"]);
  });

  it("does not let another caller read a task, and lets its owner read it", async () => {
    const taskId = id("own");
    await grpcDelegate({ taskId, intent: "test.echo", inputs: { text: "mine" } });
    const other = await mesh.token("bob", "worker");
    await expect(client.unary(DelegationService.method.getResult, { taskId }, { metadata: { authorization: `Bearer ${other}` } })).rejects.toMatchObject({ code: Code.PermissionDenied, rawMessage: `task ${taskId} was delegated by another caller` });
    const mine = await client.unary(DelegationService.method.getResult, { taskId }, { metadata: { authorization: `Bearer ${token}` } });
    expect([mine.state, mine.outputs]).toEqual([TaskState.COMPLETED, { text: "mine" }]);
  });
});

describe("delegation chains", () => {
  it("carries a sub-delegation through the gateway with depth, trace and rolled-up cost", async () => {
    const res = await grpcDelegate({ taskId: id("relay"), intent: "test.relay", inputs: { intent: "test.sleep", inputs: { ms: 1 } } });
    const r = res.result!;
    expect([r.state, r.outputs, r.subtasks.map((s) => [s.intent, s.agent, s.state])]).toEqual([
      TaskState.COMPLETED, { child: { slept: 1 } }, [["test.sleep", "worker-a", TaskState.COMPLETED]],
    ]);
    expect(r.ownCost?.moneyMicros).toBe(10n);
    expect(r.cost?.moneyMicros).toBe(15n);
    expect(r.cost?.toolCalls).toBe(1n);
    const child = await client.unary(DelegationService.method.getResult, { taskId: r.subtasks[0]!.taskId }, { metadata: { authorization: `Bearer ${token}` } }).catch((e: unknown) => e);
    expect(child).toMatchObject({ code: Code.PermissionDenied });
  });

  it("refuses a cycle back to the same agent and intent with FAILED_PRECONDITION", async () => {
    const taskId = id("cycle");
    const res = await grpcDelegate({ taskId, intent: "test.relay", inputs: { intent: "test.relay", inputs: { intent: "test.echo", inputs: { text: "x" } } } });
    expect([res.result?.state, res.result?.error?.code, res.result?.error?.reason, res.result?.error?.message]).toEqual([
      TaskState.FAILED, "failed_precondition", "chain_cycle",
      `delegation cycle: worker-a is already executing test.relay on this chain (worker-a(test.relay) -> worker-a(test.relay))`,
    ]);
    expect(res.result?.subtasks.map((s) => [s.intent, s.state, s.error?.reason])).toEqual([["test.relay", TaskState.FAILED, "chain_cycle"]]);
  });

  it("records a handler's own failure as a FAILED result with its typed error", async () => {
    const res = await grpcDelegate({ taskId: id("fail"), intent: "test.fail", inputs: { code: "InvalidArgument" } });
    expect([res.result?.state, res.result?.error?.code, res.result?.error?.message, res.result?.error?.retryable]).toEqual([
      TaskState.FAILED, "invalid_argument", "failing with InvalidArgument as asked", false,
    ]);
  });
});

describe("forwarded callers", () => {
  const asAlice = { [forwardedCallerHeader]: "alice", [forwardedRoleHeader]: "supervisor" };
  let taskId: string;
  let worker: GrpcClient;

  beforeAll(async () => {
    taskId = id("alice");
    await grpcDelegate({ taskId, intent: "test.echo", inputs: { text: "alice's" } });
    worker = createGrpcClient(`127.0.0.1:${mesh.agents[0]!.grpcPort}`);
  });
  afterAll(() => worker.close());

  const getResult = (on: GrpcClient, metadata: Record<string, string>) => on.unary(DelegationService.method.getResult, { taskId }, { metadata }).catch((e: unknown) => e as ConnectError);

  it.each<[string, string]>([
    ["bound to another agent (agentmesh:evil)", agentAudience("evil")],
    ["for every mesh service (agentmesh)", "agentmesh"],
  ])("refuses a gateway token %s replayed to a worker with forwarded-caller headers", async (_name, audience) => {
    const replayed = await mesh.token("gateway", "gateway", 300, audience);
    const err = await getResult(worker, { authorization: `Bearer ${replayed}`, ...asAlice });
    expect(err).toBeInstanceOf(ConnectError);
    expect([(err as ConnectError).code, (err as ConnectError).rawMessage, errorDetailOf(err as ConnectError)?.reason]).toEqual([
      Code.Unauthenticated, "invalid bearer token: a gateway token must be bound to this agent (audience agentmesh:worker-a)", "token_invalid",
    ]);
  });

  it("honours the forwarded caller of a gateway token bound to the worker", async () => {
    const forwarded = id("forwarded");
    const key = await loadSigningKey(join(mesh.home, "keys", "signing-key.jwk.json"));
    const bound = await createHopTokenIssuer(key, { subject: "gateway" })("worker-a", { chain: emptyChain, taskId: forwarded, intent: "test.echo" }, undefined);
    await worker.unary(DelegationService.method.delegate, { taskId: forwarded, intent: "test.echo", inputs: { text: "via" } }, { metadata: { authorization: `Bearer ${bound}`, ...asAlice } });
    const res = await worker.unary(DelegationService.method.getResult, { taskId: forwarded }, { metadata: { authorization: `Bearer ${token}` } });
    expect([res.state, res.outputs]).toEqual([TaskState.COMPLETED, { text: "via" }]);
  });

  it.each<[string, string, "worker" | "supervisor"]>([
    ["the gateway", "worker", "worker"],
    ["the gateway", "supervisor", "supervisor"],
    ["a worker", "worker", "worker"],
    ["a worker", "supervisor", "supervisor"],
  ])("treats a caller that sends forwarded-caller headers to %s as itself (%s token)", async (where, _name, role) => {
    const own = await mesh.token("bob", role);
    const err = await getResult(where === "the gateway" ? client : worker, { authorization: `Bearer ${own}`, ...asAlice });
    expect(err).toBeInstanceOf(ConnectError);
    expect([(err as ConnectError).code, (err as ConnectError).rawMessage, errorDetailOf(err as ConnectError)?.reason]).toEqual([
      Code.PermissionDenied, `task ${taskId} was delegated by another caller`, "not_task_owner",
    ]);
  });
});
