/**
 * A grpc-js client for any service of the contracts, with protobuf-es messages and
 * errors turned back into `ConnectError` (details included), so a hop sees the
 * callee's status code, message and machine-readable detail unchanged, and a
 * transport failure as a generic message that leaks no address (`fromServiceError`).
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMethodServerStreaming, DescMethodUnary, DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { errorDetailOf } from "../errors.js";

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
  // Nothing reads channelz; its per-call bookkeeping showed in the profile.
  "grpc.enable_channelz": 0,
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

/**
 * What a caller is told about a failure that carries no mesh `ErrorDetail`: a
 * transport-level failure, whose grpc-js text names addresses and internals
 * ("No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7082").
 * Codes not listed get "internal error".
 */
const transportMessages: ReadonlyMap<Code, string> = new Map([
  [Code.Unavailable, "the service at this hop could not be reached"],
  [Code.DeadlineExceeded, "deadline exceeded before the hop answered"],
  [Code.Canceled, "the call was canceled"],
  [Code.ResourceExhausted, "the message is larger than this hop accepts"],
  [Code.Unimplemented, "the service at this hop does not implement this method"],
]);

/**
 * Turns a grpc-js error into a `ConnectError`. When it carries a mesh
 * `ErrorDetail` (the callee's handler or governance chain answered), the
 * callee's code, message and details pass on unchanged. Otherwise (a transport
 * failure, or not a gRPC error at all, which becomes INTERNAL) the code is kept
 * with a generic message and no details: callers tell a transport failure from
 * a handler's answer by the missing detail (see gateway/forwarder.ts). The
 * original error is always the `cause`, for logs and for classifying the failure.
 */
export function fromServiceError(err: grpc.ServiceError | Error): ConnectError {
  if (!("code" in err) || typeof err.code !== "number") {
    return transportError(Code.Internal, err);
  }
  const headers = new Headers();
  headers.set("grpc-status", String(err.code));
  headers.set("grpc-message", encodeURIComponent(err.details));
  const bin = err.metadata?.get("grpc-status-details-bin")[0];
  if (bin instanceof Buffer) headers.set("grpc-status-details-bin", bin.toString("base64"));
  const found = findTrailerError(headers);
  if (found === undefined || errorDetailOf(found) === undefined) {
    return transportError(err.code as number, err);
  }
  const answered = new ConnectError(found.rawMessage, found.code, undefined, undefined, err);
  answered.details = found.details;
  return answered;
}

function transportError(code: Code, cause: Error): ConnectError {
  return new ConnectError(transportMessages.get(code) ?? "internal error", code, undefined, undefined, cause);
}
