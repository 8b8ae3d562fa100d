/**
 * `agentmesh report [--since 1h] [--intent X]`: the delegation figures of the
 * local mesh per intent and agent (DESIGN.md, "Measuring delegation"), from the
 * services' metric fact stores (`$AGENTMESH_HOME/data/**\/*.metrics.jsonl`,
 * mesh/telemetry/metrics.ts). The figures are defined in
 * mesh/telemetry/metrics-report.ts and in the command's help.
 */
import { join } from "node:path";
import { InvalidArgumentError } from "commander";
import type { Command } from "commander";
import { formatReport, parseWindow, readMetricStores, reportRows } from "../mesh/telemetry/metrics-report.js";
import type { ReportRow } from "../mesh/telemetry/metrics-report.js";
import type { CliConfig } from "./config.js";

/** Options of `report`. */
export interface ReportOptions {
  readonly dataDir: string;
  /** Window, e.g. "1h"; unset: everything recorded. */
  readonly since?: string;
  readonly intent?: string;
  readonly json?: boolean;
  /** The clock, epoch ms; default `Date.now`. */
  readonly now?: () => number;
}

/** The rows `report` prints. */
export function reportFor(o: ReportOptions): ReportRow[] {
  const sinceMs = o.since === undefined ? undefined : (o.now ?? Date.now)() - parseWindow(o.since);
  return reportRows(readMetricStores(o.dataDir), { ...(sinceMs === undefined ? {} : { sinceMs }), ...(o.intent === undefined ? {} : { intent: o.intent }) });
}

/** The text `report` prints. */
export function reportText(o: ReportOptions): string {
  const rows = reportFor(o);
  if (o.json === true) return JSON.stringify(rows, null, 2) + "\n";
  if (rows.length === 0) return `no tasks ended${o.since === undefined ? "" : ` in the last ${o.since}`}${o.intent === undefined ? "" : ` for ${o.intent}`} (metric stores under ${o.dataDir})\n`;
  return formatReport(rows).join("\n") + "\n";
}

const definitions = `
Figures, per intent and agent (the agent that answered for the task), each task counted once:
  TASKS        tasks that ended in the window (refused by policy and denied approvals included;
               running or still waiting for approval: not counted)
  COMPLETED, FAILED, REJECTED
               by final state (FAILED includes canceled and dead-lettered)
  SLA HIT      tasks that ran within their slo.target_duration / tasks that ran with one
  ESCALATIONS  approvals requested + refusals by policy, on any service the task passed
  ESC RATE     (approvals requested + refusals) / TASKS
  MONEY/OK     money (micro-units) of the completed tasks, rolled up over sub-tasks / COMPLETED
  TOKENS/OK    input + output tokens of the completed tasks / COMPLETED
  P50, P95     nearest-rank percentiles of the execution wall time of the tasks that ran
`;

/** Adds `report` to `program`. */
export function registerReportCommand(program: Command, config: CliConfig): void {
  program
    .command("report")
    .description("print task SLA hit rate, escalation rate and cost per successful task per intent and agent, from the local mesh's metric stores")
    .option("--since <window>", "only tasks that ended in this window, e.g. 30m, 1h, 7d (default: all)", (v: string) => {
      try {
        parseWindow(v);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
      return v;
    })
    .option("--intent <intent>", "only this intent")
    .option("--json", "print the rows as JSON")
    .option("--data-dir <dir>", "where the services keep their data", join(config.home, "data"))
    .addHelpText("after", definitions)
    .action((o: { since?: string; intent?: string; json?: boolean; dataDir: string }) => {
      process.stdout.write(reportText(o));
    });
}
