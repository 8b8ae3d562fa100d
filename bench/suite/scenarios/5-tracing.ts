/**
 * Scenario 5: scenario 3 with tracing on (every service's spans to its embedded
 * span store) against trace export off (OTEL_TRACES_EXPORTER=none: spans are
 * still made for trace ids, none is exported; metrics on in both, see
 * server-pool.ts): tracing may cost at most 10% of throughput.
 */
import { pairScenario } from "../pair-scenario.js";

export default pairScenario({
  id: "5",
  title: "tracing on vs off for scenario 3",
  baseline: "mesh-untraced",
  subject: "mesh",
  minThroughputRatio: 0.9,
});
