/**
 * The delegation figures of `agentmesh report`, from the embedded metric fact
 * stores (`<dataDir>/**\/<service>.metrics.jsonl`, metrics.ts), per intent and agent.
 *
 * Each task is counted once. A task forwarded by the gateway has facts at the
 * gateway and at the agent that ran it (same task id): its outcome is the fact of
 * the agent (any service other than the gateway), else the gateway's; of several
 * executions (retries) the last. The row of a task is (intent, the agent of that
 * outcome). A window selects tasks by when they ended; a task's escalations
 * (approval requests and refusals, wherever they happened) count in its row.
 *
 * Figures of a row:
 * - tasks: tasks that ended (completed, failed, canceled, rejected; refused by
 *   policy or denied approval included); tasks still running or waiting for an
 *   approval are not counted.
 * - completed / failed / rejected: by final state (failed includes canceled and
 *   dead-lettered).
 * - SLA hit rate: tasks that ran within their `slo.target_duration` / tasks that
 *   ran with such a target ("-" when none had one).
 * - escalation rate: (approvals requested + refusals) / tasks.
 * - cost per successful task: money (micro-units) and tokens (input + output) of
 *   the completed tasks (rolled up over their sub-tasks) / completed tasks.
 * - p50 / p95: nearest-rank percentiles of the execution wall time of the tasks
 *   that ran.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { EscalationFact, MetricFact, TaskFact } from "./metrics.js";
import { sloMet } from "./metrics.js";

const storeSuffix = ".metrics.jsonl";
const gatewayService = "gateway";

/** Every fact in the metric stores under `dataDir` (at any depth); torn lines are skipped. */
export function readMetricStores(dataDir: string): MetricFact[] {
  if (!existsSync(dataDir)) return [];
  const files = (readdirSync(dataDir, { recursive: true }) as string[]).filter((f) => f.endsWith(storeSuffix)).sort();
  const out: MetricFact[] = [];
  for (const file of files) {
    for (const line of readFileSync(join(dataDir, file), "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        out.push(JSON.parse(line) as MetricFact);
      } catch {
        // a torn last line
      }
    }
  }
  return out;
}

/** The figures of one intent × agent. */
export interface ReportRow {
  readonly intent: string;
  readonly agent: string;
  readonly tasks: number;
  readonly completed: number;
  readonly failed: number;
  readonly rejected: number;
  /** Tasks that ran with an SLO target, and those that met it. */
  readonly withSlo: number;
  readonly sloMet: number;
  /** met / withSlo; undefined when no task had a target. */
  readonly slaHitRate: number | undefined;
  readonly approvalsRequested: number;
  readonly refusals: number;
  /** (approvalsRequested + refusals) / tasks. */
  readonly escalationRate: number;
  /** Per completed task; undefined when none completed. */
  readonly moneyMicrosPerSuccess: number | undefined;
  readonly tokensPerSuccess: number | undefined;
  /** Execution wall time percentiles, ms; undefined when no task ran. */
  readonly p50Ms: number | undefined;
  readonly p95Ms: number | undefined;
}

/** What to report on. */
export interface ReportFilter {
  /** Only tasks that ended at or after this time, epoch ms. */
  readonly sinceMs?: number;
  readonly intent?: string;
}

/** The final outcome of each task id (see the file comment). */
export function finalOutcomes(facts: readonly MetricFact[]): Map<string, TaskFact> {
  const out = new Map<string, TaskFact>();
  const rank = (f: TaskFact) => (f.service === gatewayService ? 0 : 1);
  for (const f of facts) {
    if (f.kind !== "task") continue;
    const prev = out.get(f.taskId);
    if (prev === undefined || rank(f) > rank(prev) || (rank(f) === rank(prev) && f.t >= prev.t)) out.set(f.taskId, f);
  }
  return out;
}

/** Nearest-rank percentile of sorted `values`. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

/** The rows of the report, sorted by intent then agent. */
export function reportRows(facts: readonly MetricFact[], filter: ReportFilter = {}): ReportRow[] {
  const escalations = new Map<string, EscalationFact[]>();
  for (const f of facts) {
    if (f.kind === "escalation") escalations.set(f.taskId, [...(escalations.get(f.taskId) ?? []), f]);
  }
  const groups = new Map<string, TaskFact[]>();
  for (const f of finalOutcomes(facts).values()) {
    if (filter.sinceMs !== undefined && f.t < filter.sinceMs) continue;
    if (filter.intent !== undefined && f.intent !== filter.intent) continue;
    const key = JSON.stringify([f.intent, f.agent]);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const rows = [...groups.values()].map((tasks): ReportRow => {
    const count = (pred: (f: TaskFact) => boolean) => tasks.filter(pred).length;
    const done = tasks.filter((f) => f.state === "completed");
    const slo = tasks.map(sloMet).filter((m) => m !== undefined);
    // A task escalates once per kind however often it was retried or re-refused (and at however many hops).
    const escalated = (kind: EscalationFact["escalation"]) => tasks.filter((f) => (escalations.get(f.taskId) ?? []).some((e) => e.escalation === kind)).length;
    const approvalsRequested = escalated("approval_requested");
    const refusals = escalated("refused");
    const durations = tasks.flatMap((f) => (f.durationMs === undefined ? [] : [f.durationMs])).sort((a, b) => a - b);
    const perSuccess = (sum: number) => (done.length === 0 ? undefined : sum / done.length);
    return {
      intent: tasks[0]!.intent,
      agent: tasks[0]!.agent,
      tasks: tasks.length,
      completed: done.length,
      failed: count((f) => f.state !== "completed" && f.state !== "rejected"),
      rejected: count((f) => f.state === "rejected"),
      withSlo: slo.length,
      sloMet: slo.filter((m) => m).length,
      slaHitRate: slo.length === 0 ? undefined : slo.filter((m) => m).length / slo.length,
      approvalsRequested,
      refusals,
      escalationRate: (approvalsRequested + refusals) / tasks.length,
      moneyMicrosPerSuccess: perSuccess(done.reduce((s, f) => s + f.moneyMicros, 0)),
      tokensPerSuccess: perSuccess(done.reduce((s, f) => s + f.inputTokens + f.outputTokens, 0)),
      p50Ms: percentile(durations, 50),
      p95Ms: percentile(durations, 95),
    };
  });
  return rows.sort((a, b) => a.intent.localeCompare(b.intent) || a.agent.localeCompare(b.agent));
}

const pct = (r: number | undefined) => (r === undefined ? "-" : `${(r * 100).toFixed(1)}%`);
const num = (n: number | undefined, digits = 0) => (n === undefined ? "-" : n.toFixed(digits));
const ms = (n: number | undefined) => (n === undefined ? "-" : `${Math.round(n)}ms`);

/** The report as a text table, one line per intent × agent. */
export function formatReport(rows: readonly ReportRow[]): string[] {
  const header = ["INTENT", "AGENT", "TASKS", "COMPLETED", "FAILED", "REJECTED", "SLA HIT", "ESCALATIONS", "ESC RATE", "MONEY/OK (µ)", "TOKENS/OK", "P50", "P95"];
  const lines = rows.map((r) => [
    r.intent, r.agent, String(r.tasks), String(r.completed), String(r.failed), String(r.rejected),
    r.slaHitRate === undefined ? "-" : `${pct(r.slaHitRate)} (${r.sloMet}/${r.withSlo})`,
    `${r.approvalsRequested} appr + ${r.refusals} ref`,
    pct(r.escalationRate), num(r.moneyMicrosPerSuccess), num(r.tokensPerSuccess, 1), ms(r.p50Ms), ms(r.p95Ms),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((cells) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
}

/** Parses a window like "90s", "30m", "1h", "7d" to ms; throws on anything else. */
export function parseWindow(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (m === null) throw new Error(`a window is a number and a unit (ms, s, m, h, d), e.g. 1h, not "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}
