/**
 * A test worker process: the test intents as a separate agent process, so tests
 * can kill it, restart it and send it signals. Settings come from the mesh
 * variables plus AGENTMESH_TEST_AGENT (name), AGENTMESH_TEST_INTENTS (comma list)
 * AGENTMESH_TEST_LOG (execution log file) and AGENTMESH_TEST_EFFECTS (the
 * directory `test.effect` applies its effect in, shared by replicas).
 */
import { readMeshConfig, runUntilSignal, startAgent } from "../../mesh/index.js";
import { createExecutionLog, testIntents } from "./test-intents.js";

const env = process.env;
await runUntilSignal("test-worker", () =>
  startAgent({
    name: env.AGENTMESH_TEST_AGENT ?? "test-worker",
    description: "test worker process",
    version: "0",
    role: "worker",
    intents: testIntents(createExecutionLog(env.AGENTMESH_TEST_LOG, env.AGENTMESH_TEST_EFFECTS), (env.AGENTMESH_TEST_INTENTS ?? "").split(",").filter((s) => s !== "")),
    tools: [],
    scopes: [],
    config: readMeshConfig(env, { grpcAddress: "127.0.0.1:0", connectAddress: "off" }),
  }),
);
