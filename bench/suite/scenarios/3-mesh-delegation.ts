/**
 * Scenario 3: agentmesh `Delegate` through the real gateway to a real worker,
 * every governance step on (authentication, validation, chain, policy,
 * approvals gate, idempotency with its journal, tracing), against the bare
 * gateway → worker of scenario 2: throughput under load, latency added at low
 * load, and the mesh's CPU per 1000 delegations per hop. The floor chain (the
 * bare chain plus a hop token signed and verified and one synced append per
 * task, bench/suite/bare-chain.ts) is measured in the same rounds: its rows are
 * what those two pieces alone cost, a bound on the targets for this design.
 */
import { alternate, loadLevels, measureLoad } from "../compare.js";
import { addedLatencyRow, cpuPerHopRow, throughputRow } from "../rows.js";
import type { LoadRun, Scenario } from "../scenario.js";
import { serverLabels } from "../server-pool.js";

const scenario: Scenario = {
  id: "3",
  title: "agentmesh Delegate, gateway → worker, all governance on",
  servers: ["bare-chain", "floor-chain", "mesh"],
  async run(ctx) {
    const { high, low } = loadLevels(ctx);
    const runs = await alternate(ctx, ["bare-chain", "floor-chain", "mesh"], async (s, round) => ({
      high: await measureLoad(ctx, s, high, round),
      low: await measureLoad(ctx, s, low, round),
    }));
    const of = (kind: "bare-chain" | "floor-chain" | "mesh", level: "high" | "low") => ({ label: serverLabels[kind], runs: runs[kind]!.map((r): LoadRun => r[level]) });
    return {
      rows: [
        throughputRow(`throughput, ${high.name}`, of("bare-chain", "high"), of("mesh", "high"), 0.8),
        addedLatencyRow(`p50 latency added, ${low.name}`, "p50", of("bare-chain", "low"), of("mesh", "low"), 0.3),
        addedLatencyRow(`p99 latency added, ${low.name}`, "p99", of("bare-chain", "low"), of("mesh", "low"), 1),
        cpuPerHopRow(`server CPU per 1000 delegations per hop, ${high.name}`, of("bare-chain", "high"), of("mesh", "high"), 0.05),
        throughputRow(`bound: throughput, ${high.name}`, of("bare-chain", "high"), of("floor-chain", "high")),
        addedLatencyRow(`bound: p50 latency added, ${low.name}`, "p50", of("bare-chain", "low"), of("floor-chain", "low")),
        addedLatencyRow(`bound: p99 latency added, ${low.name}`, "p99", of("bare-chain", "low"), of("floor-chain", "low")),
        cpuPerHopRow(`bound: server CPU per 1000 delegations per hop, ${high.name}`, of("bare-chain", "high"), of("floor-chain", "high")),
      ],
      raw: runs,
    };
  },
};
export default scenario;
