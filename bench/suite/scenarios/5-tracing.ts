/**
 * Scenario 5: scenario 3 with tracing on (every service's spans to its embedded
 * span store) against tracing off (OTEL_SDK_DISABLED=true: spans are still made
 * for trace ids, nothing is exported): tracing may cost at most 10% of throughput.
 */
import { pairScenario } from "../pair-scenario.js";

export default pairScenario({
  id: "5",
  title: "tracing on vs off for scenario 3",
  baseline: "mesh-untraced",
  subject: "mesh",
  minThroughputRatio: 0.9,
});
