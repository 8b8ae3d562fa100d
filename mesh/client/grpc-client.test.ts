import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import { codeName, errorDetailOf, meshError } from "../errors.js";
import { toServiceError } from "../server/grpc-adapter.js";
import { createGrpcClient, fromServiceError } from "./grpc-client.js";
import type { GrpcClient } from "./grpc-client.js";

/** A loopback address nothing listens on: bound to port 0, read, released. */
function closedAddress(): Promise<string> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(`127.0.0.1:${port}`));
    });
  });
}

/** A grpc-js `ServiceError` as the client callback receives it. */
function serviceError(code: grpc.status, details: string, metadata = new grpc.Metadata()): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata });
}

describe("fromServiceError over a real channel to a port nothing listens on", () => {
  let address: string;
  let client: GrpcClient;
  beforeAll(async () => {
    address = await closedAddress();
    client = createGrpcClient(address);
  });
  afterAll(() => client.close());

  const failure = async (options: { deadline?: number; signal?: AbortSignal }): Promise<ConnectError> => {
    const err = await client.unary(DelegationService.method.getResult, { taskId: "t" }, { deadline: Date.now() + 5_000, ...options }).catch((e: unknown) => e);
    if (!(err instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(err)}`);
    return err;
  };

  it.each<[string, () => { deadline?: number; signal?: AbortSignal }, Code, string, RegExp]>([
    ["a refused connection", () => ({}), Code.Unavailable, "the service at this hop could not be reached", /ECONNREFUSED/],
    ["a deadline already passed", () => ({ deadline: Date.now() - 1 }), Code.DeadlineExceeded, "deadline exceeded before the hop answered", /^Deadline exceeded/],
    ["a canceled call", () => ({ signal: AbortSignal.abort() }), Code.Canceled, "the call was canceled", /^Cancelled on client$/],
  ])("hides grpc-js's text for %s, keeps the code, adds no ErrorDetail and keeps the ServiceError as cause", async (_name, options, code, message, raw) => {
    const err = await failure(options());
    expect([err.code, err.rawMessage, err.message, err.details, errorDetailOf(err)]).toEqual([code, message, `[${codeName(code)}] ${message}`, [], undefined]);
    const cause = err.cause as grpc.ServiceError;
    expect(cause.code).toBe(code);
    expect(cause.details).toMatch(raw);
    expect(err.rawMessage).not.toContain(address);
  });
});

describe("fromServiceError", () => {
  it("keeps the callee's code, message and ErrorDetail when the error carries one", () => {
    const answer = meshError(Code.Unavailable, "no live worker offers intent x.y", { reason: "no_worker", metadata: { intent: "x.y" } });
    const wire = toServiceError(answer);
    const original = serviceError(wire.code!, wire.details!, wire.metadata);
    const err = fromServiceError(original);
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason, errorDetailOf(err)?.metadata]).toEqual([Code.Unavailable, "no live worker offers intent x.y", "no_worker", { intent: "x.y" }]);
    expect(err.cause).toBe(original);
  });

  it.each<[grpc.status, string, Code, string]>([
    [grpc.status.RESOURCE_EXHAUSTED, "Received message larger than max (5242930 vs 4194304)", Code.ResourceExhausted, "the message is larger than this hop accepts"],
    [grpc.status.UNIMPLEMENTED, "The server does not implement the method /agentmesh.v1.DelegationService/Nope", Code.Unimplemented, "the service at this hop does not implement this method"],
    [grpc.status.INTERNAL, "Received RST_STREAM with code 2 triggered by internal client error: Protocol error", Code.Internal, "internal error"],
    [grpc.status.UNKNOWN, "Unknown Error at 10.0.0.7:7082", Code.Unknown, "internal error"],
  ])("gives status %i without an ErrorDetail a generic message", (status, details, code, message) => {
    const original = serviceError(status, details);
    const err = fromServiceError(original);
    expect([err.code, err.rawMessage, err.details, errorDetailOf(err)]).toEqual([code, message, [], undefined]);
    expect(err.cause).toBe(original);
  });

  it("turns an error that is not a gRPC error into INTERNAL without its message", () => {
    const original = new Error("write EPIPE 127.0.0.1:7082");
    const err = fromServiceError(original);
    expect([err.code, err.rawMessage, errorDetailOf(err), err.details]).toEqual([Code.Internal, "internal error", undefined, []]);
    expect(err.cause).toBe(original);
  });
});
