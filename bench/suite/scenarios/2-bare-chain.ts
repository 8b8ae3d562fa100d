/** Scenario 2: bare grpc-js gateway → worker, two hops, no governance, against the one-hop echo. */
import { pairScenario } from "../pair-scenario.js";

export default pairScenario({
  id: "2",
  title: "bare grpc-js gateway → worker chain, two hops, no governance",
  baseline: "bare-echo",
  subject: "bare-chain",
});
