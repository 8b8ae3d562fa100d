/**
 * Starts a mesh service: gRPC (grpc-js) on one port with `grpc.health.v1.Health`
 * and server reflection, Connect and gRPC-Web (connect-node, HTTP/1.1) on a second
 * port. See docs/decisions/0001-serving-stack.md for why two servers.
 */
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createServer } from "node:http";
import type { Server as HttpServer } from "node:http";
import type { Socket } from "node:net";
import { file_health_v1_health } from "../../gen/health/v1/health_pb.js";
import type { BoundService } from "../call.js";
import type { Logger } from "../logger.js";
import { addGrpcService } from "./grpc-adapter.js";
import { connectRoutes } from "./connect-adapter.js";
import { addReflectionService, createReflectionIndex } from "./reflection-service.js";

/** Options of `serve`. */
export interface ServeOptions {
  readonly services: readonly BoundService[];
  /** host:port for gRPC; port 0 picks a free port. */
  readonly grpcAddress: string;
  /** host:port for Connect and gRPC-Web; undefined serves no Connect port. */
  readonly connectAddress: string | undefined;
  /** Largest request message accepted, in bytes; larger ones fail with RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes: number;
  readonly logger: Logger;
}

/** A running service. */
export interface RunningServer {
  readonly grpcPort: number;
  /** 0 when no Connect port is served. */
  readonly connectPort: number;
  /**
   * Stops taking new calls (health turns NOT_SERVING, listeners close), lets
   * in-flight calls finish for up to `graceMs`, then cuts what is left.
   */
  shutdown(graceMs: number): Promise<void>;
}

/** Starts the servers; resolves once both listen. */
export async function serve(o: ServeOptions): Promise<RunningServer> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": o.maxMessageBytes,
    "grpc.max_send_message_length": 4 * o.maxMessageBytes,
    // No channelz service is served, and its per-call bookkeeping showed in the profile.
    "grpc.enable_channelz": 0,
  });
  for (const s of o.services) addGrpcService(server, s);
  const initial: Record<string, "SERVING"> = { "": "SERVING" };
  for (const s of o.services) initial[s.service.typeName] = "SERVING";
  const health = new HealthImplementation(initial);
  health.addToServer(server);
  addReflectionService(server, createReflectionIndex(
    [...o.services.map((s) => s.service.file), file_health_v1_health],
    [...o.services.map((s) => s.service.typeName), "grpc.health.v1.Health"],
  ));
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(o.grpcAddress, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );

  let http: HttpServer | undefined;
  const sockets = new Set<Socket>();
  let connectPort = 0;
  if (o.connectAddress !== undefined) {
    const handler = connectNodeAdapter({ routes: connectRoutes(o.services), connect: true, grpcWeb: true, grpc: false, readMaxBytes: o.maxMessageBytes });
    http = createServer(handler);
    http.on("connection", (s) => {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    });
    const { host, port } = splitAddress(o.connectAddress);
    connectPort = await new Promise<number>((resolve, reject) => {
      http!.once("error", reject);
      http!.listen(port, host, () => resolve((http!.address() as { port: number }).port));
    });
  }
  o.logger.info("serving", { grpc: grpcPort, connect: connectPort });

  return {
    grpcPort,
    connectPort,
    async shutdown(graceMs) {
      health.setStatus("", "NOT_SERVING");
      for (const s of o.services) health.setStatus(s.service.typeName, "NOT_SERVING");
      const grpcDone = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      const httpDone = http === undefined ? Promise.resolve() : new Promise<void>((resolve) => http.close(() => resolve()));
      http?.closeIdleConnections();
      const timer = setTimeout(() => {
        server.forceShutdown();
        for (const s of sockets) s.destroy();
      }, graceMs);
      await Promise.all([grpcDone, httpDone]);
      clearTimeout(timer);
    },
  };
}

/** The inverse of `splitAddress`: `host:port`, an IPv6 host in brackets. */
export function joinAddress(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Splits "host:port" (IPv6 hosts in brackets). */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  if (m === null) throw new Error(`not a host:port address: ${address}`);
  return { host: m[1]!, port: Number(m[2]) };
}
