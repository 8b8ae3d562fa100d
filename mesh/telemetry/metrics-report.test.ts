import { describe, expect, it } from "vitest";
import type { MetricFact, TaskFact } from "./metrics.js";
import { finalOutcomes, parseWindow, percentile, reportRows } from "./metrics-report.js";

const task = (f: Partial<TaskFact> & Pick<TaskFact, "t" | "service" | "taskId" | "agent" | "state">): TaskFact => ({
  kind: "task", intent: "i", moneyMicros: 0, inputTokens: 0, outputTokens: 0, ...f,
});

describe("the report's figures", () => {
  it("counts a task once: the agent's outcome over the gateway's, the last execution over earlier ones", () => {
    const facts: MetricFact[] = [
      task({ t: 1, service: "gateway", taskId: "a", agent: "gateway", state: "failed", durationMs: 5 }),
      task({ t: 2, service: "w", taskId: "a", agent: "w", state: "failed", durationMs: 5 }),
      task({ t: 3, service: "w", taskId: "a", agent: "w", state: "completed", durationMs: 7 }),
      task({ t: 4, service: "gateway", taskId: "a", agent: "w", state: "completed", durationMs: 9 }),
    ];
    expect(finalOutcomes(facts).get("a")).toMatchObject({ t: 3, service: "w", state: "completed" });
  });

  it("selects tasks by when they ended and keeps their escalations, wherever they happened", () => {
    const facts: MetricFact[] = [
      { kind: "escalation", t: 1, service: "gateway", taskId: "old", intent: "i", agent: "gateway", escalation: "approval_requested", reason: "approval_required" },
      { kind: "escalation", t: 1, service: "gateway", taskId: "new", intent: "i", agent: "gateway", escalation: "approval_requested", reason: "approval_required" },
      task({ t: 5, service: "w", taskId: "old", agent: "w", state: "completed", durationMs: 10, sloMs: 20, moneyMicros: 4, inputTokens: 1, outputTokens: 1 }),
      task({ t: 50, service: "w", taskId: "new", agent: "w", state: "completed", durationMs: 30, sloMs: 20, moneyMicros: 6, inputTokens: 2, outputTokens: 2 }),
      task({ t: 60, service: "w", taskId: "x", agent: "w", state: "rejected" }),
    ];
    expect(reportRows(facts)).toMatchObject([{
      tasks: 3, completed: 2, rejected: 1, withSlo: 2, sloMet: 1, slaHitRate: 0.5, approvalsRequested: 2, escalationRate: 2 / 3,
      moneyMicrosPerSuccess: 5, tokensPerSuccess: 3, p50Ms: 10, p95Ms: 30,
    }]);
    expect(reportRows(facts, { sinceMs: 10 })).toMatchObject([{ tasks: 2, completed: 1, withSlo: 1, sloMet: 0, approvalsRequested: 1, moneyMicrosPerSuccess: 6 }]);
    expect(reportRows(facts, { intent: "other" })).toEqual([]);
  });

  it("counts a task's escalation once per kind, however often a retry was refused again or at how many hops", () => {
    const refused = (t: number, service: string) => ({ kind: "escalation" as const, t, service, taskId: "r", intent: "i", agent: service, escalation: "refused" as const, reason: "scope_missing" });
    const facts: MetricFact[] = [
      refused(1, "gateway"), task({ t: 1, service: "gateway", taskId: "r", agent: "gateway", state: "rejected" }),
      refused(2, "gateway"), task({ t: 2, service: "gateway", taskId: "r", agent: "gateway", state: "rejected" }),
      refused(3, "w"),
    ];
    expect(reportRows(facts)).toMatchObject([{ tasks: 1, rejected: 1, refusals: 1, escalationRate: 1 }]);
  });

  it("takes nearest-rank percentiles and parses windows", () => {
    expect([percentile([], 50), percentile([1], 95), percentile([1, 2, 3, 4], 50), percentile([1, 2, 3, 4], 95)]).toEqual([undefined, 1, 2, 4]);
    expect([parseWindow("90s"), parseWindow("30m"), parseWindow("1h"), parseWindow("7d"), parseWindow("250ms")]).toEqual([90_000, 1_800_000, 3_600_000, 604_800_000, 250]);
    expect(() => parseWindow("1 week")).toThrow(/e\.g\. 1h/);
  });
});
