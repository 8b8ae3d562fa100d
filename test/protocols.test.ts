/**
 * Every protocol a user can call with reaches the same service with the same
 * checks: a plain @grpc/grpc-js client built from the .proto files (not from
 * gen/), gRPC-Web, `buf curl` using server reflection (no schema files), and
 * plain `curl` with a JSON body over the Connect protocol.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fromBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { DelegationService, ErrorDetailSchema } from "../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../gen/agentmesh/v1/task_pb.js";
import { errorDetailOf } from "../mesh/index.js";
import { checkHealth } from "../cli/health-check.js";
import { createExecutionLog, testIntents } from "./support/test-intents.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const buf = `${root}node_modules/.bin/buf`;
let mesh: TestMesh;
let token: string;

beforeAll(async () => {
  mesh = await startTestMesh();
  await mesh.startAgent("worker-a", testIntents(createExecutionLog()));
  token = await mesh.token();
});
afterAll(() => mesh.stop());

describe("a plain grpc-js client built from the .proto files", () => {
  interface PlainClient extends grpc.Client {
    Delegate(req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: { result: Record<string, unknown> }) => void): void;
  }
  const load = () => {
    const def = protoLoader.loadSync("agentmesh/v1/delegation.proto", { includeDirs: [`${root}proto`], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { agentmesh: { v1: { DelegationService: new (a: string, c: grpc.ChannelCredentials) => PlainClient } } };
    return new pkg.agentmesh.v1.DelegationService(mesh.grpcAddress, grpc.credentials.createInsecure());
  };
  const call = (client: PlainClient, req: unknown, md: grpc.Metadata) =>
    new Promise<{ err: grpc.ServiceError | null; res?: { result: Record<string, unknown> } }>((resolve) => client.Delegate(req, md, (err, res) => resolve({ err, res })));
  // google.protobuf.Struct as proto-loader represents it.
  // (protobufjs loads the well-known types with camelCase fields whatever keepCase says).
  const struct = (o: Record<string, string>) => ({ fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { stringValue: v }])) });

  it("calls Delegate through the gateway and gets the worker's result", async () => {
    const client = load();
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${token}`);
    const { err, res } = await call(client, { task_id: "plain-1", intent: "test.echo", inputs: struct({ text: "from proto-loader" }) }, md);
    client.close();
    expect(err).toBeNull();
    expect(res?.result).toMatchObject({ task_id: "plain-1", intent: "test.echo", agent: "worker-a", state: "TASK_STATE_COMPLETED", outputs: { fields: { text: { stringValue: "from proto-loader", kind: "stringValue" } } } });
  });

  it("gets UNAUTHENTICATED without a token", async () => {
    const client = load();
    const { err } = await call(client, { task_id: "plain-2", intent: "test.echo", inputs: struct({ text: "x" }) }, new grpc.Metadata());
    client.close();
    expect([err?.code, err?.details]).toEqual([grpc.status.UNAUTHENTICATED, "missing bearer token: send the header 'authorization: Bearer <token>'"]);
  });
});

describe("gRPC-Web", () => {
  it("completes a call and refuses bad inputs with the same detail", async () => {
    const client = createClient(DelegationService, createGrpcWebTransport({ baseUrl: mesh.connectUrl, httpVersion: "1.1" }));
    const headers = { authorization: `Bearer ${token}` };
    const res = await client.delegate({ taskId: "web-1", intent: "test.echo", inputs: { text: "web" } }, { headers });
    expect([res.result?.state, res.result?.outputs]).toEqual([TaskState.COMPLETED, { text: "web" }]);
    const err = await client.delegate({ taskId: "web-2", intent: "test.echo", inputs: { text: 1 } }, { headers }).catch((e: unknown) => e as ConnectError);
    expect([err instanceof ConnectError && err.code, (err as ConnectError).rawMessage, errorDetailOf(err as ConnectError)?.reason]).toEqual([
      Code.InvalidArgument, "inputs do not match the schema of test.echo: inputs.text must be string", "input_schema_violation",
    ]);
  });
});

describe("health", () => {
  it("answers SERVING for the server and for each service", async () => {
    expect(await checkHealth(mesh.grpcAddress)).toBe(true);
    expect(await checkHealth(mesh.grpcAddress, "agentmesh.v1.DelegationService")).toBe(true);
    expect(await checkHealth(mesh.grpcAddress, "agentmesh.v1.NoSuchService")).toBe(false);
  });
});

describe("buf curl with server reflection", () => {
  it("lists the services", async () => {
    const { stdout } = await run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services", `http://${mesh.grpcAddress}`]);
    expect(stdout.trim().split("\n").sort()).toEqual([
      "agentmesh.v1.ApprovalService",
      "agentmesh.v1.AuditService",
      "agentmesh.v1.DelegationService",
      "agentmesh.v1.QueueService",
      "agentmesh.v1.RegistryService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
    const { stdout: described } = await run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", `http://${mesh.grpcAddress}`]);
    expect(described).toContain("agentmesh.v1.DelegationService/WatchResult");
  });

  it("calls Delegate with a JSON body", async () => {
    const body = JSON.stringify({ taskId: "bufcurl-1", intent: "test.echo", inputs: { text: "from buf curl" } });
    const { stdout } = await run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-H", `authorization: Bearer ${token}`, "-d", body, `http://${mesh.grpcAddress}/agentmesh.v1.DelegationService/Delegate`]);
    expect((JSON.parse(stdout) as { result: unknown }).result).toMatchObject({ taskId: "bufcurl-1", agent: "worker-a", state: "TASK_STATE_COMPLETED", outputs: { text: "from buf curl" } });
  });

  it("reports the refusal of bad inputs", async () => {
    const body = JSON.stringify({ taskId: "bufcurl-2", intent: "test.echo", inputs: { text: 3 } });
    const err = await run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-H", `authorization: Bearer ${token}`, "-d", body, `http://${mesh.grpcAddress}/agentmesh.v1.DelegationService/Delegate`]).catch((e: unknown) => e as { stderr: string });
    expect(JSON.parse((err).stderr)).toMatchObject({ code: "invalid_argument", message: "inputs do not match the schema of test.echo: inputs.text must be string" });
  });
});

describe("plain curl over the Connect protocol", () => {
  /** The answer of a Connect call: HTTP status and JSON body (a response or an error). */
  interface ConnectAnswer {
    readonly status: number;
    readonly json: { code?: string; message?: string; details?: { type: string; value: string }[]; result?: unknown };
  }
  let bodies = 0;
  /** POSTs `body` as JSON to Delegate with curl (from a file: it may be larger than a command line); headers default to the bearer token. */
  const curl = async (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }): Promise<ConnectAnswer> => {
    const file = join(mesh.home, `curl-body-${++bodies}.json`);
    writeFileSync(file, JSON.stringify(body));
    const { stdout } = await run("curl", [
      "-sS", "-X", "POST", "-H", "content-type: application/json", ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
      "--data-binary", `@${file}`, "-w", "\n%{http_code}", `${mesh.connectUrl}/agentmesh.v1.DelegationService/Delegate`,
    ]);
    const cut = stdout.lastIndexOf("\n");
    return { status: Number(stdout.slice(cut + 1)), json: JSON.parse(stdout.slice(0, cut)) as ConnectAnswer["json"] };
  };
  /** The mesh ErrorDetail of a Connect error body, decoded from its binary `value`. */
  const detailOf = (json: ConnectAnswer["json"]) => {
    const detail = json.details?.find((d) => d.type === ErrorDetailSchema.typeName);
    return detail === undefined ? undefined : fromBinary(ErrorDetailSchema, base64Decode(detail.value));
  };

  it("calls Delegate with a JSON body", async () => {
    const { status, json } = await curl({ taskId: "curl-1", intent: "test.echo", inputs: { text: "from curl" } });
    expect(status).toBe(200);
    expect(json.result).toMatchObject({ taskId: "curl-1", agent: "worker-a", state: "TASK_STATE_COMPLETED", outputs: { text: "from curl" } });
  });

  // The same refusals, codes, messages and reasons as over gRPC (test/governance.test.ts).
  it.each<[string, unknown, Record<string, string> | undefined, number, string, string, string, [string, string][]]>([
    ["a missing token", { taskId: "curl-2", intent: "test.echo", inputs: { text: "x" } }, {}, 401, "unauthenticated", "missing bearer token: send the header 'authorization: Bearer <token>'", "token_missing", []],
    [
      "inputs that break the schema", { taskId: "curl-3", intent: "test.echo", inputs: { text: 5, extra: true } }, undefined, 400, "invalid_argument",
      "inputs do not match the schema of test.echo: inputs.extra is not allowed by the schema; inputs.text must be string", "input_schema_violation",
      [["inputs.extra", "is not allowed by the schema"], ["inputs.text", "must be string"]],
    ],
    ["an unknown intent", { taskId: "curl-4", intent: "test.nope", inputs: {} }, undefined, 400, "invalid_argument", 'unknown intent "test.nope": no agent card declares it', "unknown_intent", []],
    [
      "an expired task deadline", { taskId: "curl-5", intent: "test.echo", inputs: { text: "x" }, constraints: { deadline: "2020-01-01T00:00:00Z" } }, undefined, 504, "deadline_exceeded",
      "the task deadline 2020-01-01T00:00:00.000Z has already passed", "deadline_passed", [],
    ],
  ])("refuses %s with the gRPC path's code, message and ErrorDetail", async (_name, body, headers, status, code, message, reason, violations) => {
    const res = await curl(body, headers);
    const detail = detailOf(res.json);
    expect([res.status, res.json.code, res.json.message, detail?.reason, detail?.violations.map((v) => [v.field, v.description])]).toEqual([status, code, message, reason, violations]);
  });

  it("refuses an oversized message with resource_exhausted before decoding it, with no ErrorDetail", async () => {
    const body = { taskId: "curl-6", intent: "test.echo", inputs: { text: "a".repeat(5 * 1024 * 1024) } };
    const res = await curl(body);
    expect([res.status, res.json.code, res.json.message, res.json.details]).toEqual([
      429, "resource_exhausted", `message size ${Buffer.byteLength(JSON.stringify(body))} is larger than configured readMaxBytes 4194304`, undefined,
    ]);
  });
});
