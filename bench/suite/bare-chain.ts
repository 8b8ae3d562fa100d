/**
 * The bare references of the suite: `agentmesh.v1.DelegationService/Delegate`
 * served by plain @grpc/grpc-js servers with protobuf-es codecs and no
 * governance at all (no token check, validation, chain, policy, idempotency,
 * journal or tracing):
 *
 *   echo   one hop: a worker that answers the task COMPLETED with its inputs
 *   chain  two hops: a gateway that forwards each Delegate unchanged over one
 *          grpc-js channel to such a worker, and relays its answer
 *   floor  `chain` plus only the per-task work the mesh's design cannot skip,
 *          done by the mesh's own code: the gateway signs a hop token for the
 *          task (createHopTokenIssuer, the development Ed25519 key), the worker
 *          verifies it (createTokenVerifier) and makes the task's record
 *          durable (openJsonlLog: group-committed append + fdatasync) before it
 *          answers. No validation, chain, policy, idempotency, tracing or audit.
 *
 * The messages and the load generator are the mesh's own, so scenario 3 differs
 * from `chain` only by what the mesh adds, and `floor` shows how much of that no
 * implementation of this design avoids: a per-task signed chain that a worker
 * checks without trusting the connection, and an answer given only once its
 * record is on disk. Both servers run in one process (as
 * the mesh's gateway and worker do in mesh-process.ts), started as a child of the
 * suite (`startBareProcess`) and stopped with "stop".
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { DelegateRequestSchema, DelegateResponseSchema, DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest, DelegateResponse } from "../../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHopTokenIssuer, createTokenVerifier, emptyChain, ensureDevKeys, loadSigningKey, loadVerificationKeys, openJsonlLog } from "../../mesh/index.js";
import { forkReady } from "./child-process.js";

/** Which bare reference to serve. */
export type BareKind = "echo" | "chain" | "floor";

/** A running bare server process. */
export interface BareProcess {
  readonly pid: number;
  /** Address the load goes to: the worker (echo) or the gateway (chain). */
  readonly grpcAddress: string;
  stop(): Promise<void>;
}

const delegatePath = `/${DelegationService.typeName}/${DelegationService.method.delegate.name}`;
const codec = <S extends DescMessage>(schema: S) => ({
  serialize: (m: MessageShape<S>) => Buffer.from(toBinary(schema, m)),
  deserialize: (b: Buffer) => fromBinary(schema, b),
});
const requestCodec = codec(DelegateRequestSchema);
const responseCodec = codec(DelegateResponseSchema);

/** As the mesh's servers and clients have it (mesh/server/serve.ts, mesh/client/grpc-client.ts): channelz off, so the bare chain pays no more per call than the mesh's transport. */
const grpcOptions = { "grpc.enable_channelz": 0 };

type DelegateHandler = (req: DelegateRequest, metadata: grpc.Metadata) => Promise<DelegateResponse>;

/** Serves `handle` as Delegate on 127.0.0.1 (OS-chosen port); returns the server and its port. */
async function serveDelegate(handle: DelegateHandler): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server(grpcOptions);
  const definition: grpc.ServiceDefinition = {
    Delegate: {
      path: delegatePath, requestStream: false, responseStream: false,
      requestSerialize: requestCodec.serialize, requestDeserialize: requestCodec.deserialize,
      responseSerialize: responseCodec.serialize, responseDeserialize: responseCodec.deserialize,
    } satisfies grpc.MethodDefinition<DelegateRequest, DelegateResponse>,
  };
  server.addService(definition, {
    Delegate: (call: grpc.ServerUnaryCall<DelegateRequest, DelegateResponse>, callback: grpc.sendUnaryData<DelegateResponse>) => {
      handle(call.request, call.metadata).then((res) => callback(null, res), (err: grpc.ServiceError) => callback(err));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port };
}

/** The worker: COMPLETED, its inputs as outputs. */
const echoWorker: DelegateHandler = (req) =>
  Promise.resolve(create(DelegateResponseSchema, { result: { taskId: req.taskId, intent: req.intent, state: TaskState.COMPLETED, outputs: req.inputs } }));

/** The gateway: forwards the request over `client` with the authorization `authorize` gives (by default the caller's, unchanged), and relays the answer. */
function forwardingGateway(client: grpc.Client, authorize?: (req: DelegateRequest) => Promise<string>): DelegateHandler {
  return async (req, metadata) => {
    const md = new grpc.Metadata();
    if (authorize === undefined) for (const value of metadata.get("authorization")) md.add("authorization", value);
    else md.add("authorization", await authorize(req));
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(delegatePath, requestCodec.serialize, responseCodec.deserialize, req, md, (err, res) => (err ? reject(err) : resolve(res!)));
    });
  };
}

/** The floor's worker and gateway token: see the file comment. `dir` holds the keys and the worker's log. */
async function floorParts(dir: string): Promise<{ worker: DelegateHandler; authorize: (req: DelegateRequest) => Promise<string>; close: () => Promise<void> }> {
  const keys = await ensureDevKeys(join(dir, "keys"));
  const hopToken = createHopTokenIssuer(await loadSigningKey(keys.signingKeyPath), { subject: "gateway" });
  const verify = createTokenVerifier({ keys: await loadVerificationKeys(keys.jwksPath), self: "worker-a" });
  const log = openJsonlLog<{ taskId: string; state: string; at: number }>(join(dir, "tasks.jsonl"));
  const worker: DelegateHandler = async (req, metadata) => {
    const authorization = metadata.get("authorization")[0];
    const identity = await verify(typeof authorization === "string" ? authorization : null);
    if (identity.role !== "gateway" || identity.claims?.task !== req.taskId) throw new Error(`the hop token is not for task ${req.taskId}`);
    const res = await echoWorker(req, metadata);
    await log.append({ taskId: req.taskId, state: "COMPLETED", at: Date.now() });
    return res;
  };
  const authorize = async (req: DelegateRequest) =>
    `Bearer ${await hopToken("worker-a", { chain: emptyChain, taskId: req.taskId, intent: req.intent }, undefined)}`;
  return { worker, authorize, close: () => log.close() };
}

/** Starts the bare `kind` in a child process. */
export async function startBareProcess(kind: BareKind, execArgv: readonly string[] = []): Promise<BareProcess> {
  const child = await forkReady<{ grpcAddress: string }>(import.meta.url, { args: ["--child", kind], execArgv });
  return { pid: child.pid, grpcAddress: child.ready.grpcAddress, stop: async () => void (await child.stop(5_000)) };
}

/** Child: serve, report the address, stop on "stop" or when the parent goes away. */
async function runChild(kind: BareKind): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "agentmesh-bench-floor-"));
  const floor = kind === "floor" ? await floorParts(dir) : undefined;
  const worker = await serveDelegate(floor?.worker ?? echoWorker);
  const servers = [worker.server];
  let port = worker.port;
  let client: grpc.Client | undefined;
  if (kind !== "echo") {
    client = new grpc.Client(`127.0.0.1:${worker.port}`, grpc.credentials.createInsecure(), grpcOptions);
    const gateway = await serveDelegate(forwardingGateway(client, floor?.authorize));
    servers.push(gateway.server);
    port = gateway.port;
  }
  const stop = () => {
    client?.close();
    for (const s of servers) s.forceShutdown();
    void (floor?.close() ?? Promise.resolve()).finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  };
  process.on("message", (m) => {
    if (m === "stop") stop();
  });
  process.on("disconnect", stop);
  process.send?.({ grpcAddress: `127.0.0.1:${port}` });
}

const at = process.argv.indexOf("--child");
if (at >= 0) await runChild(process.argv[at + 1] as BareKind);
