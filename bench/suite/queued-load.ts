/**
 * The delegators of scenario 6, each a process of its own (forkReady): closed
 * loops that keep a fixed number of tasks in flight through the gateway, for a
 * fixed time, each task with its own id, every outcome checked (COMPLETED, for
 * the task sent, with its text echoed).
 *
 *   sync     `Delegate` of test.echo; a task's latency is the call's
 *   queued   `Delegate` with mode QUEUED (answered at once), then `WatchResult`
 *            on the same channel until the task is terminal; a task's latency is
 *            from sending the Delegate to the terminal event reaching the
 *            delegator, and the time to the QUEUED answer is kept besides
 *
 * The parent sends `{ run: QueuedLoadOptions }` and gets `{ ok, value | error }`.
 */
import { performance } from "node:perf_hooks";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import { DelegationMode, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient, isTerminal } from "../../mesh/index.js";
import type { GrpcClient } from "../../mesh/index.js";
import { percentile } from "../policy/latency-sample.js";
import { ask, forkReady } from "./child-process.js";
import type { LoadGenerators, LoadResult } from "./load-process.js";

/** How a delegator delegates. */
export type DelegationStyle = "sync" | "queued";

/** One delegator process's share of a run. */
export interface QueuedLoadOptions {
  readonly grpcAddress: string;
  readonly token: string;
  readonly style: DelegationStyle;
  /** Tasks this process keeps in flight. */
  readonly inFlight: number;
  /** grpc-js channels its tasks are spread over. */
  readonly channels: number;
  readonly seconds: number;
  readonly taskIdPrefix: string;
}

/** What a run measured. Latencies in ms, sorted. */
export interface QueuedLoadResult {
  readonly seconds: number;
  /** Enqueue (or call) to terminal state, per task. */
  readonly latencies: readonly number[];
  /** Enqueue to the QUEUED answer, per queued task (empty for sync). */
  readonly accepted: readonly number[];
}

/** The merged run of every delegator process (`calls`: tasks completed). Latencies in ms. */
export interface MergedLoad extends LoadResult {
  /** p50 and p99 of the time to the QUEUED answer (NaN for sync). */
  readonly acceptedP50: number;
  readonly acceptedP99: number;
}

/** Delegator processes ready to run (pids `load1`, ...). */
export interface Delegators extends Omit<LoadGenerators, "run"> {
  /** Runs `o`, its tasks in flight and channels being totals split over the processes. */
  run(o: QueuedLoadOptions): Promise<MergedLoad>;
}

/** Per-task deadline: far above any wait in the queue at these loads. */
const deadlineMs = 60_000;

/** Starts `count` delegator processes. */
export async function startDelegators(count: number): Promise<Delegators> {
  const children = await Promise.all(Array.from({ length: count }, () => forkReady(import.meta.url, { args: ["--queued-load-child"] })));
  return {
    pids: Object.fromEntries(children.map((c, i) => [`load${i + 1}`, c.pid])),
    run: async (o) => merged(await Promise.all(shares(o, count).map((share, i) => ask<QueuedLoadResult>(children[i]!.child, { run: share })))),
    stop: async () => void (await Promise.all(children.map((c) => c.stop(5_000)))),
  };
}

/** `o` split over at most `processes` delegators (fewer when fewer tasks are in flight), each with at least one channel. */
function shares(o: QueuedLoadOptions, processes: number): QueuedLoadOptions[] {
  const n = Math.min(processes, o.inFlight);
  const part = (total: number, i: number) => Math.floor(total / n) + (i < total % n ? 1 : 0);
  return Array.from({ length: n }, (_, i) => ({ ...o, inFlight: part(o.inFlight, i), channels: Math.max(1, part(o.channels, i)), taskIdPrefix: `${o.taskIdPrefix}-p${i + 1}` }));
}

/** The delegators' runs as one. */
function merged(results: readonly QueuedLoadResult[]): MergedLoad {
  const sorted = (pick: (r: QueuedLoadResult) => readonly number[]) => results.flatMap(pick).sort((a, b) => a - b);
  const latencies = sorted((r) => r.latencies);
  const accepted = sorted((r) => r.accepted);
  const pct = (xs: number[], p: number) => (xs.length === 0 ? Number.NaN : percentile(xs, p));
  return {
    calls: latencies.length,
    perSecond: results.reduce((sum, r) => sum + r.latencies.length / r.seconds, 0),
    p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies.at(-1) ?? Number.NaN,
    acceptedP50: pct(accepted, 50), acceptedP99: pct(accepted, 99),
  };
}

/** One task to its end: its last result and, for a queued one, when the QUEUED answer came (performance.now()). */
type DelegateOne = (client: GrpcClient, metadata: Record<string, string>, taskId: string, text: string) => Promise<{ result: Result | undefined; acceptedAt?: number }>;

const delegateOne: Record<DelegationStyle, DelegateOne> = {
  async sync(client, metadata, taskId, text) {
    const res = await client.unary(DelegationService.method.delegate, { taskId, intent: "test.echo", inputs: { text } }, { metadata, deadline: Date.now() + deadlineMs });
    return { result: res.result };
  },
  async queued(client, metadata, taskId, text) {
    const deadline = Date.now() + deadlineMs;
    const res = await client.unary(DelegationService.method.delegate, { taskId, intent: "test.echo", inputs: { text }, mode: DelegationMode.QUEUED }, { metadata, deadline });
    const acceptedAt = performance.now();
    let result = res.result;
    // The answer is the task's snapshot: QUEUED, or a later state its worker already reached.
    if (result !== undefined && isTerminal(result.state)) return { result, acceptedAt };
    for await (const ev of client.serverStream(DelegationService.method.watchResult, { taskId }, { metadata, deadline })) result = ev.result ?? result;
    return { result, acceptedAt };
  },
};

/** Runs one process's share; throws on the first task that did not complete as asked. */
export async function runQueuedLoad(o: QueuedLoadOptions): Promise<QueuedLoadResult> {
  const channels = Array.from({ length: o.channels }, () => createGrpcClient(o.grpcAddress));
  const auth = { authorization: `Bearer ${o.token}` };
  const one = delegateOne[o.style];
  const out = { latencies: [] as number[], accepted: [] as number[] };
  let tasks = 0;
  const t0 = performance.now();
  const lane = async (client: GrpcClient) => {
    while (performance.now() - t0 < o.seconds * 1000) {
      const taskId = `${o.taskIdPrefix}-${++tasks}`;
      const text = `bench ${taskId}`;
      const sent = performance.now();
      const { result, acceptedAt } = await one(client, auth, taskId, text);
      out.latencies.push(performance.now() - sent);
      if (acceptedAt !== undefined) out.accepted.push(acceptedAt - sent);
      if (result?.state !== TaskState.COMPLETED || result.taskId !== taskId || result.outputs?.text !== text) {
        throw new Error(`unexpected ${o.style} result for ${taskId}: state ${result === undefined ? "none" : TaskState[result.state]}, ` +
          `error ${result?.error?.message ?? "none"}, outputs ${JSON.stringify(result?.outputs)}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: o.inFlight }, (_, n) => lane(channels[n % channels.length]!)));
  } finally {
    for (const c of channels) c.close();
  }
  return { seconds: (performance.now() - t0) / 1000, ...out };
}

/** Answers the parent's request (see `ask` in child-process.ts) with what `work` resolves to, or its error. */
export function answerParent(work: Promise<unknown>): void {
  work.then(
    (value) => process.send?.({ ok: true, value }),
    (err: unknown) => process.send?.({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
  );
}

if (process.argv.includes("--queued-load-child")) {
  // Runs each load it is sent, one at a time, until "stop" or the parent goes away.
  process.on("message", (msg) => (msg === "stop" ? process.exit(0) : answerParent(runQueuedLoad((msg as { run: QueuedLoadOptions }).run))));
  process.on("disconnect", () => process.exit(0));
  process.send?.("ready");
}
