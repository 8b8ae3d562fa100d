/**
 * A grpc-js client for any service of the contracts, with protobuf-es messages and
 * errors turned back into `ConnectError` (details included), so a hop sees the
 * callee's status code, message and machine-readable detail unchanged.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMethodServerStreaming, DescMethodUnary, DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";

/** Per-call options. */
export interface CallOptions {
  /** Request metadata (lowercase names). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Deadline in epoch milliseconds. */
  readonly deadline?: number;
  /** Cancels the call when aborted. */
  readonly signal?: AbortSignal;
}

/** A connection to one address. */
export interface GrpcClient {
  readonly address: string;
  unary<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, request: MessageInitShape<I>, options?: CallOptions): Promise<MessageShape<O>>;
  serverStream<I extends DescMessage, O extends DescMessage>(method: DescMethodServerStreaming<I, O>, request: MessageInitShape<I>, options?: CallOptions): AsyncIterable<MessageShape<O>>;
  close(): void;
}

/** Channel options for mesh hops: fail fast when a peer is gone, keep connections alive. */
const channelOptions: grpc.ChannelOptions = {
  "grpc.keepalive_time_ms": 30_000,
  "grpc.initial_reconnect_backoff_ms": 200,
  "grpc.max_reconnect_backoff_ms": 2_000,
  "grpc.enable_retries": 0,
};

/** Opens a client to `address` (host:port, plaintext). */
export function createGrpcClient(address: string): GrpcClient {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), channelOptions);
  const path = (m: DescMethodUnary | DescMethodServerStreaming) => `/${m.parent.typeName}/${m.name}`;
  const serializer = (schema: DescMessage) => (msg: MessageInitShape<DescMessage>) => Buffer.from(toBinary(schema, create(schema, msg)));
  const deserializer = (schema: DescMessage) => (buf: Buffer) => fromBinary(schema, buf);
  return {
    address,
    unary(method, request, options = {}) {
      return new Promise((resolve, reject) => {
        const call = client.makeUnaryRequest(
          path(method),
          serializer(method.input),
          deserializer(method.output),
          request,
          toMetadata(options.metadata),
          options.deadline === undefined ? {} : { deadline: options.deadline },
          (err, res) => (err ? reject(fromServiceError(err)) : resolve(res as never)),
        );
        bindSignal(options.signal, () => call.cancel());
      });
    },
    async *serverStream(method, request, options = {}) {
      const call = client.makeServerStreamRequest(
        path(method),
        serializer(method.input),
        deserializer(method.output),
        request,
        toMetadata(options.metadata),
        options.deadline === undefined ? {} : { deadline: options.deadline },
      );
      bindSignal(options.signal, () => call.cancel());
      try {
        for await (const msg of call as AsyncIterable<unknown>) yield msg as never;
      } catch (err) {
        throw fromServiceError(err as grpc.ServiceError);
      }
    },
    close: () => client.close(),
  };
}

function bindSignal(signal: AbortSignal | undefined, cancel: () => void): void {
  if (signal === undefined) return;
  if (signal.aborted) cancel();
  else signal.addEventListener("abort", cancel, { once: true });
}

function toMetadata(headers: Readonly<Record<string, string>> | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers ?? {})) md.set(k, v);
  return md;
}

/** Turns a grpc-js error into a `ConnectError` carrying the callee's details. */
export function fromServiceError(err: grpc.ServiceError | Error): ConnectError {
  if (!("code" in err) || typeof err.code !== "number") {
    return new ConnectError(err.message, Code.Internal, undefined, undefined, err);
  }
  const headers = new Headers();
  headers.set("grpc-status", String(err.code));
  headers.set("grpc-message", encodeURIComponent(err.details));
  const bin = err.metadata?.get("grpc-status-details-bin")[0];
  if (bin instanceof Buffer) headers.set("grpc-status-details-bin", bin.toString("base64"));
  const found = findTrailerError(headers) ?? new ConnectError(err.details, err.code as number);
  const bare = new ConnectError(found.rawMessage, found.code, undefined, undefined, err);
  bare.details = found.details;
  return bare;
}
