/**
 * The transport-neutral call model. Each server library (grpc-js, connect-node)
 * has a thin adapter that turns its own call into a `MeshCall` and runs the same
 * interceptor chain, so every protocol gets the same governance steps.
 */
import type { ContextValues } from "@connectrpc/connect";
import type {
  DescMethod,
  DescMethodServerStreaming,
  DescMethodUnary,
  DescService,
  Message,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";

/** Read access to request metadata, whatever the transport keeps it in. */
export interface HeaderReader {
  /** First value of a header (lowercase name), or null. */
  get(name: string): string | null;
}

/** The wire protocol a call arrived on. */
export type WireProtocol = "grpc" | "connect" | "grpc-web";

/** One incoming call, as the governance steps and handlers see it. */
export interface MeshCall {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly protocol: WireProtocol;
  readonly header: HeaderReader;
  /** The decoded request message. */
  readonly message: Message;
  /** Per-call state written by the governance steps (see context-keys.ts). */
  readonly values: ContextValues;
  /** Aborted when the caller cancels, the deadline passes or the server stops. */
  readonly signal: AbortSignal;
  /** Deadline in epoch milliseconds; undefined when the caller set none. */
  readonly deadline: number | undefined;
  /** The remote address, for logs. */
  readonly peer: string;
}

/**
 * Runs a call. A unary method resolves to its response message; a server-streaming
 * method resolves to an async iterable of response messages.
 */
export type MeshHandler = (call: MeshCall) => Promise<unknown>;

/** One governance step: `(next) => async (call) => ...`. */
export type MeshInterceptor = (next: MeshHandler) => MeshHandler;

/** Wraps a handler in interceptors; the first interceptor is the outermost. */
export function applyInterceptors(handler: MeshHandler, interceptors: readonly MeshInterceptor[]): MeshHandler {
  return interceptors.reduceRight<MeshHandler>((next, interceptor) => interceptor(next), handler);
}

type MethodImpl<M extends DescMethod> =
  M extends DescMethodUnary<infer I, infer O>
    ? (request: MessageShape<I>, call: MeshCall) => Promise<MessageInitShape<O>>
    : M extends DescMethodServerStreaming<infer I, infer O>
      ? (request: MessageShape<I>, call: MeshCall) => AsyncIterable<MessageInitShape<O>>
      : never;

/** The implementation of a service: one function per method, by local name. */
export type MeshServiceImpl<S extends DescService> = {
  [K in keyof S["method"]]: MethodImpl<S["method"][K]>;
};

/** A method with its implementation already wrapped in the interceptor chain. */
export interface BoundMethod {
  readonly method: DescMethod;
  readonly handler: MeshHandler;
}

/** A service ready for any adapter to serve. */
export interface BoundService {
  readonly service: DescService;
  readonly methods: readonly BoundMethod[];
}

/**
 * Binds an implementation to its service descriptor and wraps every method in the
 * given interceptors (outermost first).
 */
export function bindService<S extends DescService>(
  service: S,
  impl: MeshServiceImpl<S>,
  interceptors: readonly MeshInterceptor[],
): BoundService {
  const methods = service.methods.map((method) => {
    const fn = (impl as Record<string, (req: Message, call: MeshCall) => unknown>)[method.localName];
    if (fn === undefined) {
      throw new Error(`${service.typeName} has no implementation of ${method.name}`);
    }
    const inner: MeshHandler = (call) => Promise.resolve(fn.call(impl, call.message, call));
    return { method, handler: applyInterceptors(inner, interceptors) };
  });
  return { service, methods };
}
