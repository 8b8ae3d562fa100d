/**
 * Delegation load through the gateway: `Delegate` of `test.echo` kept at a fixed
 * number of calls in flight, spread over several grpc-js channels, for a fixed
 * time. Every call has its own task id (a repeated id would be answered from the
 * task store, not run), so h2load's fixed request body cannot drive this load.
 * Every response is checked: COMPLETED, for the task sent, with the text echoed.
 */
import { performance } from "node:perf_hooks";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import { TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient } from "../../mesh/index.js";
import { percentile } from "../policy/latency-sample.js";

/** Options of `runDelegationLoad`. */
export interface DelegationLoadOptions {
  readonly grpcAddress: string;
  /** Bearer token of the caller. */
  readonly token: string;
  /** grpc-js channels (connections) the calls are spread over. */
  readonly channels: number;
  /** Calls kept in flight. */
  readonly inFlight: number;
  readonly seconds: number;
  /** Prefix of the task ids; each call appends a sequence number. */
  readonly taskIdPrefix: string;
}

/** One load run. Latencies in milliseconds. */
export interface DelegationLoadResult {
  readonly calls: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** CPU this process (the load generator) used, in cores. */
  readonly loadCpu: number;
  /** Every call's latency, sorted (ms): to merge the runs of several load processes. */
  readonly latencies: readonly number[];
}

/** Per-call deadline: far above any queueing delay at these loads. */
const deadlineMs = 30_000;

/**
 * Runs the load; throws on the first failed or wrong response, so a figure is
 * never made of errors. Calls in flight when the time is up finish and count.
 */
export async function runDelegationLoad(o: DelegationLoadOptions): Promise<DelegationLoadResult> {
  const clients = Array.from({ length: o.channels }, () => createGrpcClient(o.grpcAddress));
  const metadata = { authorization: `Bearer ${o.token}` };
  const latencies: number[] = [];
  let seq = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + o.seconds * 1000;
  const worker = async (lane: number) => {
    const client = clients[lane % clients.length]!;
    while (performance.now() < end) {
      const taskId = `${o.taskIdPrefix}-${++seq}`;
      const text = `bench ${taskId}`;
      const t = performance.now();
      const res = await client.unary(DelegationService.method.delegate, { taskId, intent: "test.echo", inputs: { text } }, { metadata, deadline: Date.now() + deadlineMs });
      latencies.push(performance.now() - t);
      const r = res.result;
      if (r?.state !== TaskState.COMPLETED || r.taskId !== taskId || r.outputs?.text !== text) {
        throw new Error(`unexpected result for ${taskId}: state ${r?.state}, task ${r?.taskId}, outputs ${JSON.stringify(r?.outputs)}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: o.inFlight }, (_, i) => worker(i)));
  } finally {
    for (const c of clients) c.close();
  }
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return {
    calls: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
    loadCpu: (used.user + used.system) / 1e6 / seconds,
    latencies,
  };
}
