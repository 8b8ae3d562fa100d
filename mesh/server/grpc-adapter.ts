/**
 * Serves bound services on a @grpc/grpc-js server: protobuf-es messages on the
 * wire, each call turned into a `MeshCall` and run through the same governance
 * chain as every other protocol.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMethod, Message } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { BoundService, HeaderReader, MeshCall, MeshHandler } from "../call.js";
import { meshError, toConnectError } from "../errors.js";
import { encodeResultResponse } from "../tasks/result-wire.js";

/** A request that could not be decoded; the call fails with INVALID_ARGUMENT. */
class UndecodableRequest {
  constructor(readonly cause: unknown) {}
}

/** Registers `bound` on `server`. */
export function addGrpcService(server: grpc.Server, bound: BoundService): void {
  const definition: Record<string, grpc.MethodDefinition<Message | UndecodableRequest, Message>> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  for (const { method, handler } of bound.methods) {
    const streaming = method.methodKind === "server_streaming";
    definition[method.localName] = {
      path: `/${bound.service.typeName}/${method.name}`,
      requestStream: false,
      responseStream: streaming,
      requestSerialize: (m: Message | UndecodableRequest) => Buffer.from(toBinary(method.input, m as Message)),
      requestDeserialize: (b: Buffer) => {
        try {
          return fromBinary(method.input, b);
        } catch (err) {
          return new UndecodableRequest(err);
        }
      },
      // A task result the journal encoded already is answered with its bytes (result-wire.ts).
      responseSerialize: (m: Message) => Buffer.from(encodeResultResponse(method.output, m) ?? toBinary(method.output, create(method.output, m))),
      responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
      originalName: method.localName,
    };
    impl[method.localName] = streaming ? streamingHandler(method, handler) : unaryHandler(method, handler);
  }
  server.addService(definition, impl);
}

function unaryHandler(method: DescMethod, handler: MeshHandler): grpc.handleUnaryCall<Message | UndecodableRequest, Message> {
  return (call, callback) => {
    if (call.request instanceof UndecodableRequest) {
      callback(toServiceError(undecodable(method)));
      return;
    }
    const { meshCall, done } = toMeshCall(method, call);
    handler(meshCall).then(
      (res) => {
        done();
        callback(null, res as Message);
      },
      (err: unknown) => {
        done();
        callback(toServiceError(err));
      },
    );
  };
}

function streamingHandler(method: DescMethod, handler: MeshHandler): grpc.handleServerStreamingCall<Message | UndecodableRequest, Message> {
  return (call) => {
    if (call.request instanceof UndecodableRequest) {
      call.emit("error", toServiceError(undecodable(method)));
      return;
    }
    const { meshCall, done } = toMeshCall(method, call);
    const run = async () => {
      const iterable = (await handler(meshCall)) as AsyncIterable<Message>;
      for await (const msg of iterable) {
        if (meshCall.signal.aborted) break;
        if (!call.write(msg)) {
          await new Promise<void>((resolve) => call.once("drain", resolve));
        }
      }
    };
    run().then(
      () => {
        done();
        call.end();
      },
      (err: unknown) => {
        done();
        call.emit("error", toServiceError(err));
      },
    );
  };
}

function undecodable(method: DescMethod): ConnectError {
  return meshError(Code.InvalidArgument, `the ${method.input.typeName} message could not be decoded`, { reason: "request_undecodable" });
}

type AnyServerCall = grpc.ServerUnaryCall<Message | UndecodableRequest, Message> | grpc.ServerWritableStream<Message | UndecodableRequest, Message>;

function toMeshCall(method: DescMethod, call: AnyServerCall): { meshCall: MeshCall; done: () => void } {
  const controller = new AbortController();
  const onCancel = () => controller.abort(meshError(Code.Canceled, "the caller canceled the call", { reason: "client_canceled" }));
  call.once("cancelled", onCancel);
  const raw = call.getDeadline();
  const deadline = raw instanceof Date ? raw.getTime() : Number.isFinite(raw) ? raw : undefined;
  let timer: NodeJS.Timeout | undefined;
  if (deadline !== undefined) {
    timer = setTimeout(
      () => controller.abort(meshError(Code.DeadlineExceeded, "the call's deadline passed before it finished", { reason: "deadline_exceeded" })),
      Math.max(0, deadline - Date.now()),
    );
  }
  const metadata = call.metadata;
  const header: HeaderReader = {
    get(name) {
      const v = metadata.get(name)[0];
      return v === undefined ? null : typeof v === "string" ? v : v.toString("base64");
    },
  };
  const meshCall: MeshCall = {
    service: method.parent,
    method,
    protocol: "grpc",
    header,
    message: call.request as Message,
    values: createContextValues(),
    signal: controller.signal,
    deadline,
    peer: call.getPeer(),
  };
  return {
    meshCall,
    done: () => {
      clearTimeout(timer);
      call.removeListener("cancelled", onCancel);
    },
  };
}

/** Converts any error into the grpc-js form, with the Connect error details in `grpc-status-details-bin`. */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  const ce: ConnectError = toConnectError(err);
  // A fresh error without the original's metadata, so only the status and its
  // details reach the wire.
  const bare = new ConnectError(ce.rawMessage, ce.code);
  bare.details = ce.details;
  const trailer = setTrailerStatus(new Headers(), bare);
  const metadata = new grpc.Metadata();
  trailer.forEach((value, key) => {
    if (key === "grpc-status" || key === "grpc-message") return;
    if (key.endsWith("-bin")) metadata.add(key, Buffer.from(value, "base64"));
    else metadata.add(key, value);
  });
  return { code: ce.code as number, details: ce.rawMessage, metadata };
}
