/** Scenario 1: bare grpc-js unary echo, one hop: the reference every other figure is read against. */
import { compareAtHighLoad, loadLevels } from "../compare.js";
import { cpuPerHopRow, throughputRow } from "../rows.js";
import type { Scenario } from "../scenario.js";

const scenario: Scenario = {
  id: "1",
  title: "bare grpc-js unary echo, one hop (reference)",
  servers: ["bare-echo"],
  async run(ctx) {
    const { runs, of } = await compareAtHighLoad(ctx, ["bare-echo"]);
    return {
      rows: [throughputRow(`throughput, ${loadLevels(ctx).high.name}`, undefined, of("bare-echo")), cpuPerHopRow("server CPU per 1000 calls per hop", undefined, of("bare-echo"))],
      raw: runs,
    };
  },
};
export default scenario;
