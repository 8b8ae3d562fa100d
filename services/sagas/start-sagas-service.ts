/**
 * The sagas service: the saga coordinator (a durable consumer of `saga.events`
 * that delegates each step through the gateway as `saga-coordinator`, role
 * supervisor) and `SagaService` (start, read), on the queue backend
 * AGENTMESH_QUEUE names. It is a service identity, not an agent: it registers
 * no intents and no offers file names it, so it starts delegation chains of its
 * own, like an operator does. It cannot approve anything (approvals need the
 * approver role, a human's), so a high-risk step waits for a person.
 */
import { join } from "node:path";
import { SagaService } from "../../gen/agentmesh/v1/saga_pb.js";
import {
  bindService, createGatewayStepCanceller, createGatewayStepRunner, createGovernanceChain, createGrpcClient, createLogger, createSagaStartPolicy, createSagaStore, createSchemaValidator,
  createTaskStore, createTokenSource, createTokenVerifier, createUsageCounters, ensureDevKeys, loadSigningKey, loadVerificationKeys, serve,
  startPolicy, startSagaCoordinator, startTelemetry,
} from "../../mesh/index.js";
import type { Logger, SagaDefinition } from "../../mesh/index.js";
import { openQueueBackend } from "../../mesh/queue/index.js";
import { campaignLaunchSaga } from "./campaign-launch-saga.js";
import { coordinatorSubject } from "./config.js";
import type { SagasConfig } from "./config.js";
import { createSagaServiceImpl, createSagaValidators } from "./saga-service.js";

/** The service's name: its token audience, its logs, its policy `service.name`. */
export const sagasServiceName = "sagas";

/** Options of `startSagasService`. */
export interface SagasServiceOptions {
  /** The sagas it runs; default the campaign-launch saga. */
  readonly definitions?: readonly SagaDefinition[];
  readonly logger?: Logger;
}

/** A running sagas service. */
export interface RunningSagas {
  readonly grpcPort: number;
  readonly connectPort: number;
  /** Stops serving, abandons running steps (their events are delivered again to the next coordinator) and closes. */
  stop(): Promise<void>;
}

/** Starts the service; rejects when a key, the policy bundle or the queue backend cannot be loaded. */
export async function startSagasService(config: SagasConfig, options: SagasServiceOptions = {}): Promise<RunningSagas> {
  const logger = options.logger ?? createLogger(sagasServiceName, config.logLevel);
  const definitions = new Map((options.definitions ?? [campaignLaunchSaga]).map((d) => [d.name, d]));
  if (config.devKeys) await ensureDevKeys(join(config.home, "keys"));
  const verifier = createTokenVerifier({ keys: await loadVerificationKeys(config.jwksPath), self: sagasServiceName, ...(config.roleKeys === undefined ? {} : { roleKeys: config.roleKeys }) });
  const token = createTokenSource(await loadSigningKey(config.signingKeyPath), { subject: coordinatorSubject, role: "supervisor" });
  const telemetry = await startTelemetry({ service: sagasServiceName, version: "0.1.0", instanceId: config.instanceId, dataDir: config.dataDir, config: config.telemetry, logger });
  const stack: (() => Promise<void> | void)[] = [() => telemetry.shutdown()];
  // Closes what was opened, last first; a step that fails is logged and the rest still run.
  const unwind = async () => {
    for (const close of stack.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.warn("a stop step failed", { error: String(err) });
      }
    }
  };
  try {
    const policy = await startPolicy({ dir: config.policyDir, auditPath: join(config.dataDir, `${sagasServiceName}.audit.jsonl`), service: { name: sagasServiceName, kind: "agent" }, logger, metrics: telemetry.metrics });
    stack.push(() => policy.close());
    const backend = await openQueueBackend({ url: config.queue.url, dir: config.queue.dir, settings: config.queue.settings });
    stack.push(() => backend.close());
    const gateway = createGrpcClient(config.gatewayAddress);
    stack.push(() => gateway.close());
    const store = createSagaStore(backend.store);
    const coordinator = startSagaCoordinator({
      queue: backend.queue, store, definitions, logger, maxStepAttempts: config.maxStepAttempts, heartbeatMs: config.heartbeatMs,
      runStep: createGatewayStepRunner({ gateway, token, timeoutMs: config.stepTimeoutMs }), cancelStep: createGatewayStepCanceller({ gateway, token }),
    });
    stack.push(() => coordinator.stop());
    const resumed = await coordinator.resume();
    if (resumed > 0) logger.info("resumed unfinished sagas", { count: resumed });

    const schemas = createSchemaValidator();
    for (const d of definitions.values()) schemas.compile(d.inputSchema);
    const authorize = createSagaStartPolicy({ engine: policy.engine, audit: policy.audit, quotas: createUsageCounters(), service: { name: sagasServiceName, kind: "agent" }, logger });
    const chain = createGovernanceChain({
      logger, verifier, telemetry, agent: sagasServiceName, checkSelfCycle: false, chainLimits: { maxDepth: config.maxDepth }, tasks: createTaskStore(),
      validators: new Map([...createSagaValidators(), ...policy.validators]),
    });
    const server = await serve({
      services: [bindService(SagaService, createSagaServiceImpl({ store, queue: backend.queue, definitions, schemas, authorize, logger }), chain), ...policy.services(chain)],
      grpcAddress: config.grpcAddress,
      connectAddress: config.connectAddress,
      maxMessageBytes: config.maxMessageBytes,
      logger,
    });
    stack.push(() => server.shutdown(config.shutdownGraceMs));
    logger.info("saga coordinator running", { queue: backend.kind, subject: coordinatorSubject, sagas: [...definitions.keys()] });
    let stopping: Promise<void> | undefined;
    return {
      grpcPort: server.grpcPort,
      connectPort: server.connectPort,
      stop: () => (stopping ??= unwind()),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
