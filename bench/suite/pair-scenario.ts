/**
 * A scenario that compares two servers under the same high load: throughput of
 * the subject against the baseline, and each one's CPU per 1000 calls per hop.
 */
import { compareAtHighLoad, loadLevels } from "./compare.js";
import { cpuPerHopRow, throughputRow } from "./rows.js";
import type { Scenario } from "./scenario.js";
import type { ServerKind } from "./server-pool.js";

/** Options of `pairScenario`. */
export interface PairScenarioOptions {
  readonly id: string;
  readonly title: string;
  readonly baseline: ServerKind;
  readonly subject: ServerKind;
  /** Target: subject throughput at least this fraction of the baseline's; none when unset. */
  readonly minThroughputRatio?: number;
}

/** The scenario `o` describes. */
export function pairScenario(o: PairScenarioOptions): Scenario {
  return {
    id: o.id,
    title: o.title,
    servers: [o.baseline, o.subject],
    async run(ctx) {
      const { runs, of } = await compareAtHighLoad(ctx, [o.baseline, o.subject]);
      return {
        rows: [
          throughputRow(`throughput, ${loadLevels(ctx).high.name}`, of(o.baseline), of(o.subject), o.minThroughputRatio),
          cpuPerHopRow("server CPU per 1000 calls per hop", of(o.baseline), of(o.subject)),
        ],
        raw: runs,
      };
    },
  };
}
