/**
 * The public API of the mesh runtime. Services, the gateway and the CLI import
 * from here, never from the files behind it.
 */
export * from "./call.js";
export * from "./config.js";
export * from "./context-keys.js";
export * from "./errors.js";
export * from "./logger.js";
export * from "./canonical-json.js";
export * from "./auth/identity.js";
export * from "./auth/keys.js";
export * from "./auth/tokens.js";
export * from "./chain/delegation-chain.js";
export * from "./chain/chain-limits.js";
export * from "./trace/trace-context.js";
export * from "./client/grpc-client.js";
export * from "./client/hop-metadata.js";
export * from "./interceptors/authenticate.js";
export * from "./interceptors/governance-chain.js";
export * from "./interceptors/validate-request.js";
export * from "./interceptors/idempotency.js";
export * from "./server/serve.js";
export * from "./tasks/task-store.js";
export * from "./tasks/task-journal.js";
export * from "./tasks/task-states.js";
export * from "./tasks/result-builder.js";
export * from "./tasks/delegation-service.js";
export * from "./validation/json-schema.js";
export * from "./validation/delegate-request-rules.js";
export * from "./validation/delegation-validators.js";
export * from "./validation/success-criteria.js";
export * from "./agent/intent.js";
export * from "./agent/cost.js";
export * from "./agent/task-context.js";
export * from "./agent/start-agent.js";
export * from "./run-until-signal.js";
