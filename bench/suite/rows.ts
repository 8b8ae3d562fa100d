/**
 * Table rows the delegation scenarios share: throughput against a baseline,
 * latency added over a baseline, and server CPU per 1000 calls per hop.
 */
import { figureOf, saturation } from "./compare.js";
import type { Figure, LoadRun, Row } from "./scenario.js";

/** Runs of one variant under the label the table gives it. */
export interface Labelled {
  readonly label: string;
  readonly runs: readonly LoadRun[];
}

/** How a row compares subject and baseline, and its target. */
interface Comparison {
  /** The ratio (or difference) column from the two medians. */
  readonly ratio: (figure: number, base: number) => { text: string; value: number };
  readonly target: string;
  /** Whether the target was met, from the figure's median and the ratio; undefined: no target. */
  readonly met?: (figure: number, ratio: number | undefined) => boolean;
}

/** The row for `pick` of `subject` against `baseline` (none for a reference). */
function compared(metric: string, baseline: Labelled | undefined, subject: Labelled, pick: (r: LoadRun) => number, unit: string, c: Comparison): Row {
  const figure = figureOf(subject.runs.map(pick), unit);
  const base: Figure | undefined = baseline === undefined ? undefined : figureOf(baseline.runs.map(pick), unit);
  const ratio = base === undefined ? undefined : c.ratio(figure.median, base.median);
  return {
    metric,
    ...(base === undefined ? {} : { baseline: { label: baseline!.label, figure: base } }),
    figure: { label: subject.label, figure },
    ...(ratio === undefined ? {} : { ratio }),
    target: c.target,
    ...(c.met === undefined ? {} : { met: c.met(figure.median, ratio?.value) }),
    saturated: saturation(subject.runs),
  };
}

const times = (digits: number) => (figure: number, base: number) => ({ text: `×${(figure / base).toFixed(digits)}`, value: figure / base });

/** Throughput of `subject` over `baseline`; met when the ratio is at least `minRatio` (if given). */
export function throughputRow(metric: string, baseline: Labelled | undefined, subject: Labelled, minRatio?: number): Row {
  return compared(metric, baseline, subject, (r) => r.perSecond, "calls/s", {
    ratio: times(3),
    target: minRatio === undefined ? "—" : `≥ ×${minRatio.toFixed(2)}`,
    ...(minRatio === undefined ? {} : { met: (_: number, ratio: number | undefined) => ratio !== undefined && ratio >= minRatio }),
  });
}

/** Latency (`p50` or `p99`) `subject` adds over `baseline`; met when at most `maxAddedMs` (if given). */
export function addedLatencyRow(metric: string, which: "p50" | "p99", baseline: Labelled, subject: Labelled, maxAddedMs?: number): Row {
  return compared(metric, baseline, subject, (r) => r[which], "ms", {
    ratio: (figure, base) => ({ text: `${figure >= base ? "+" : "−"}${Math.abs(figure - base).toFixed(3)} ms`, value: figure - base }),
    target: maxAddedMs === undefined ? "—" : `≤ +${maxAddedMs} ms`,
    ...(maxAddedMs === undefined ? {} : { met: (_: number, added: number | undefined) => added !== undefined && added <= maxAddedMs }),
  });
}

/** CPU of the server process per 1000 calls per hop (core-seconds); met when at most `max` (if given). */
export function cpuPerHopRow(metric: string, baseline: Labelled | undefined, subject: Labelled, max?: number): Row {
  return compared(metric, baseline, subject, (r) => r.serverCpuPer1000PerHop, "core-s", {
    ratio: times(1),
    target: max === undefined ? "—" : `≤ ${max} core-s`,
    ...(max === undefined ? {} : { met: (figure: number) => figure <= max }),
  });
}
