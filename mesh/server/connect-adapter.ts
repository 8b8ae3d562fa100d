/**
 * Serves bound services with connect-node for the Connect and gRPC-Web protocols
 * (browsers, curl with JSON). Each call becomes a `MeshCall` and runs through the
 * same governance chain as the gRPC port.
 */
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import type { Message } from "@bufbuild/protobuf";
import type { BoundService, MeshCall, WireProtocol } from "../call.js";
import type { BoundMethod } from "../call.js";

/** Returns the routes function for `connectNodeAdapter` that serves `services`. */
export function connectRoutes(services: readonly BoundService[]): (router: ConnectRouter) => void {
  return (router) => {
    for (const bound of services) {
      for (const bm of bound.methods) {
        if (bm.method.methodKind === "server_streaming") {
          router.rpc(bm.method as never, ((req: Message, ctx: HandlerContext) => streamFrom(bm, req, ctx)) as never);
        } else if (bm.method.methodKind === "unary") {
          router.rpc(bm.method as never, (async (req: Message, ctx: HandlerContext) => (await bm.handler(toMeshCall(bm, req, ctx))) as Message) as never);
        }
      }
    }
  };
}

async function* streamFrom(bm: BoundMethod, req: Message, ctx: HandlerContext): AsyncIterable<Message> {
  yield* (await bm.handler(toMeshCall(bm, req, ctx))) as AsyncIterable<Message>;
}

function toMeshCall(bm: BoundMethod, req: Message, ctx: HandlerContext): MeshCall {
  const timeout = ctx.timeoutMs();
  return {
    service: bm.method.parent,
    method: bm.method,
    protocol: protocolOf(ctx.protocolName),
    header: ctx.requestHeader,
    message: req,
    values: ctx.values,
    signal: ctx.signal,
    deadline: timeout === undefined ? undefined : Date.now() + timeout,
    peer: "",
  };
}

function protocolOf(name: string): WireProtocol {
  return name === "grpc_web" || name === "grpc-web" ? "grpc-web" : name === "grpc" ? "grpc" : "connect";
}
