/**
 * Intents used by the integration tests: deterministic, with knobs (sleep,
 * delegate onward, fail) and an execution log so tests can count how many times
 * a handler really ran.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { defineIntent, meshError } from "../../mesh/index.js";
import type { IntentDefinition } from "../../mesh/index.js";

/** Records each handler execution (task id) — in memory and, when given, in a file. */
export interface ExecutionLog {
  readonly entries: string[];
  readonly file: string | undefined;
  /**
   * Where `test.effect` applies its effect: a directory shared by every replica,
   * holding one marker file per task id and the `effects` log of applied effects.
   */
  readonly effects?: string | undefined;
}

/** A new execution log. */
export function createExecutionLog(file?: string, effects?: string): ExecutionLog {
  return { entries: [], file, effects };
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    });
  });
}

/**
 * Applies task `taskId`'s effect once, whichever replica gets there and however
 * often: the marker file is created exclusively, and only its creator logs the
 * effect. Needs `log.effects`.
 */
function applyEffect(log: ExecutionLog, taskId: string): void {
  if (log.effects === undefined) throw new Error("test.effect needs an effects directory (AGENTMESH_TEST_EFFECTS)");
  try {
    writeFileSync(join(log.effects, `done-${encodeURIComponent(taskId)}`), "", { flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return;
    throw err;
  }
  appendFileSync(join(log.effects, "effects"), taskId + "\n");
}

/** Records one execution of task `taskId` in `log` (and its file). */
export function record(log: ExecutionLog, taskId: string): void {
  log.entries.push(taskId);
  if (log.file !== undefined) appendFileSync(log.file, taskId + "\n");
}

const anyOutputs = { type: "object" };

/** The contract of the intents that work for `ms` milliseconds. */
const timedIntent = {
  inputSchema: { type: "object", required: ["ms"], properties: { ms: { type: "integer", minimum: 0, maximum: 60_000 } } },
  outputSchema: anyOutputs,
  tools: [],
  requiredScopes: [],
};

/** `test.echo`: returns its text; `test.sleep`: waits `ms` (honouring cancellation); `test.relay`: delegates `intent` onward; `test.fail`: fails with the given code. */
export function testIntents(log: ExecutionLog, only: readonly string[] = []): IntentDefinition<never, never>[] {
  const echo = defineIntent<{ text: string }, { text: string }>({
    name: "test.echo",
    description: "Echoes its input text.",
    inputSchema: { type: "object", additionalProperties: false, required: ["text"], properties: { text: { type: "string", maxLength: 2_000_000 } } },
    outputSchema: { type: "object", required: ["text"], properties: { text: { type: "string" } } },
    tools: ["echo"],
    requiredScopes: [],
    handle(inputs, ctx) {
      record(log, ctx.taskId);
      return Promise.resolve({ outputs: { text: inputs.text }, rationale: "echoed", evidence: [], confidence: 1, toolCalls: 1 });
    },
  });
  const sleep = defineIntent<{ ms: number }, { slept: number }>({
    name: "test.sleep",
    description: "Sleeps, then answers.",
    ...timedIntent,
    async handle(inputs, ctx) {
      record(log, ctx.taskId);
      await sleepFor(inputs.ms, ctx.signal);
      return { outputs: { slept: inputs.ms }, rationale: "slept", evidence: [], confidence: 1, toolCalls: 0, moneyMicros: 5 };
    },
  });
  const relay = defineIntent<{ intent: string; inputs: Record<string, unknown> }, { child: unknown }>({
    name: "test.relay",
    description: "Delegates a sub-task onward and returns its outputs.",
    inputSchema: { type: "object", required: ["intent", "inputs"], properties: { intent: { type: "string" }, inputs: { type: "object" } } },
    outputSchema: anyOutputs,
    tools: [],
    requiredScopes: [],
    async handle(inputs, ctx) {
      record(log, ctx.taskId);
      const child = await ctx.delegate({ key: "child", intent: inputs.intent, inputs: inputs.inputs });
      return { outputs: { child: child.outputs ?? null }, rationale: "relayed", evidence: [], confidence: child.confidence, toolCalls: 1, moneyMicros: 10 };
    },
  });
  const fail = defineIntent<{ code: string }, never>({
    name: "test.fail",
    description: "Fails with the given status code name.",
    inputSchema: { type: "object", required: ["code"], properties: { code: { type: "string" } } },
    outputSchema: anyOutputs,
    tools: [],
    requiredScopes: [],
    handle(inputs, ctx) {
      record(log, ctx.taskId);
      const code = Code[inputs.code as keyof typeof Code];
      return Promise.reject(meshError(code, `failing with ${inputs.code} as asked`, { reason: "test_failure" }));
    },
  });
  const effect = defineIntent<{ ms: number }, { applied: boolean }>({
    name: "test.effect",
    description: "Works for `ms`, then applies its effect once per task id.",
    ...timedIntent,
    async handle(inputs, ctx) {
      record(log, ctx.taskId);
      await sleepFor(inputs.ms, ctx.signal);
      applyEffect(log, ctx.taskId);
      return { outputs: { applied: true }, rationale: "applied", evidence: [], confidence: 1, toolCalls: 0 };
    },
  });
  const flaky = defineIntent<{ failures: number }, { runs: number }>({
    name: "test.flaky",
    description: "Fails retryably (UNAVAILABLE) on its first `failures` runs for a task id, then answers.",
    inputSchema: { type: "object", required: ["failures"], properties: { failures: { type: "integer", minimum: 0, maximum: 100 } } },
    outputSchema: anyOutputs,
    tools: [],
    requiredScopes: [],
    handle(inputs, ctx) {
      record(log, ctx.taskId);
      const runs = log.entries.filter((e) => e === ctx.taskId).length;
      if (runs <= inputs.failures) return Promise.reject(meshError(Code.Unavailable, `run ${runs} fails as asked`, { reason: "test_failure" }));
      return Promise.resolve({ outputs: { runs }, rationale: "answered", evidence: [], confidence: 1, toolCalls: 0 });
    },
  });
  const all = [echo, sleep, relay, fail, effect, flaky] as IntentDefinition<never, never>[];
  return only.length === 0 ? all : all.filter((i) => only.includes(i.name));
}
