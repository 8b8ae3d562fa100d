/**
 * Echo servers for the serving-stack benchmark (see run.ts and
 * docs/decisions/0001-serving-stack.md).
 *
 * Both servers implement agentmesh.bench.v1.EchoService with protobuf-es
 * messages, so the comparison measures the server libraries, not the codecs:
 * - startGrpcJsEchoServer: a @grpc/grpc-js Server whose method definition
 *   serializes with toBinary/fromBinary (how the mesh uses grpc-js);
 * - startConnectEchoServer: connect-node's connectNodeAdapter on a plain
 *   http2.createServer (h2c), which answers gRPC, gRPC-Web and Connect.
 *
 * Each listens on 127.0.0.1 with an OS-chosen port and returns
 * `{ port, close() }`; close() ends open HTTP/2 sessions so it never hangs.
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  EchoService,
  EchoRequestSchema,
  EchoResponseSchema,
  type EchoRequest,
  type EchoResponse,
} from "../../gen/agentmesh/bench/v1/echo_pb.js";

/** A running echo server. */
export interface EchoServer {
  /** The TCP port on 127.0.0.1. */
  readonly port: number;
  /** Stops listening and destroys open sessions. */
  close(): Promise<void>;
}

/** Path of the Echo method, shared by both protocols. */
export const ECHO_PATH = `/${EchoService.typeName}/${EchoService.method.echo.name}`;

/** Starts a @grpc/grpc-js server that serves EchoService (gRPC only). */
export async function startGrpcJsEchoServer(): Promise<EchoServer> {
  const definition: grpc.ServiceDefinition = {
    Echo: {
      path: ECHO_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: (m: EchoRequest) => Buffer.from(toBinary(EchoRequestSchema, m)),
      requestDeserialize: (b: Buffer) => fromBinary(EchoRequestSchema, b),
      responseSerialize: (m: EchoResponse) => Buffer.from(toBinary(EchoResponseSchema, m)),
      responseDeserialize: (b: Buffer) => fromBinary(EchoResponseSchema, b),
    } satisfies grpc.MethodDefinition<EchoRequest, EchoResponse>,
  };
  const server = new grpc.Server();
  server.addService(definition, {
    Echo: (
      call: grpc.ServerUnaryCall<EchoRequest, EchoResponse>,
      callback: grpc.sendUnaryData<EchoResponse>,
    ) => callback(null, create(EchoResponseSchema, { payload: call.request.payload })),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    port,
    // forceShutdown cancels in-flight calls and destroys every http2 session.
    close: () => {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}

/** Starts connect-node (connectNodeAdapter on http2.createServer) serving EchoService. */
export async function startConnectEchoServer(): Promise<EchoServer> {
  const handler = connectNodeAdapter({
    routes: (router) =>
      router.service(EchoService, {
        echo: (req) => ({ payload: req.payload }),
      }),
  });
  const server = http2.createServer(handler);
  const sessions = new Set<http2.Http2Session>();
  server.on("session", (s: http2.Http2Session) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // http2 server close() waits for open sessions: destroy them first.
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}
