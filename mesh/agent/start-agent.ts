/**
 * `startAgent`: the one call that turns a set of intent handlers into a governed
 * agent service — gRPC, Connect and gRPC-Web, health and reflection, the
 * governance chain, a durable task journal, registration with the gateway and
 * graceful shutdown.
 */
import { join } from "node:path";
import { DelegationService } from "../../gen/agentmesh/v1/delegation_pb.js";
import { Protocol } from "../../gen/agentmesh/v1/registry_pb.js";
import { createTokenSource, createTokenVerifier } from "../auth/tokens.js";
import type { Role } from "../auth/identity.js";
import { ensureDevKeys, loadSigningKey, loadVerificationKeys } from "../auth/keys.js";
import { bindService } from "../call.js";
import type { MeshInterceptor } from "../call.js";
import { createGrpcClient } from "../client/grpc-client.js";
import type { MeshConfig } from "../config.js";
import { createGovernanceChain } from "../interceptors/governance-chain.js";
import { createLogger } from "../logger.js";
import type { Logger } from "../logger.js";
import { serve } from "../server/serve.js";
import { createDelegationServiceImpl } from "../tasks/delegation-service.js";
import { createFileTaskJournal } from "../tasks/task-journal.js";
import { createTaskStore, waitIdle } from "../tasks/task-store.js";
import { createDelegationValidators } from "../validation/delegation-validators.js";
import { startPolicy } from "../policy/start-policy.js";
import { createServiceApprovals } from "../approvals/service-approvals.js";
import { ApprovalService } from "../../gen/agentmesh/v1/approval_pb.js";
import { createSchemaValidator } from "../validation/json-schema.js";
import type { IntentDefinition, ToolDefinition } from "./intent.js";
import { createIntentExecutor } from "./intent-executor.js";
import { startTelemetry } from "../telemetry/start-telemetry.js";
import { traceTasks } from "../telemetry/task-span.js";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { IMetricReader } from "@opentelemetry/sdk-metrics";
import { startRegistration } from "./registration.js";
import { openQueueBackend } from "../queue/backend.js";
import { startQueueWorker } from "./queue-worker.js";
import type { QueueWorker } from "./queue-worker.js";

/** Options of `startAgent`. */
export interface AgentOptions {
  /** Agent name; also the subject of its token and the name on its card. */
  readonly name: string;
  readonly description: string;
  readonly version: string;
  /** "worker" or "supervisor". */
  readonly role: Extract<Role, "worker" | "supervisor">;
  readonly intents: readonly IntentDefinition<never, never>[];
  readonly tools: readonly ToolDefinition[];
  readonly scopes: readonly string[];
  readonly config: MeshConfig;
  /**
   * Fills the policy slot of the governance chain. Unset (what every service
   * does): the bundle in `config.policyDir` (AGENTMESH_POLICY_DIR, default the
   * repo's policy/build), with an audit log of its decisions and of the human
   * decisions on the agent's approvals, served by AuditService. Tests of what
   * comes after policy pass a step of their own; no audit log is kept then.
   */
  readonly policy?: MeshInterceptor;
  readonly logger?: Logger;
  /**
   * Where the agent's spans go instead of the exporters `config.telemetry` names
   * (tests inject an in-memory exporter); each span as it ends.
   */
  readonly spanExporter?: SpanExporter;
  /** Reads the agent's metrics instead of the readers `config.telemetry` names (tests inject an in-memory one). */
  readonly metricReader?: IMetricReader;
}

/** The Delegate method of a bound DelegationService (its handler runs the whole governance chain). */
function delegateHandlerOf(service: ReturnType<typeof bindService>) {
  return service.methods.find((m) => m.method === DelegationService.method.delegate)!.handler;
}

/** A running agent. */
export interface RunningAgent {
  readonly grpcPort: number;
  readonly connectPort: number;
  /** Resolves once the gateway accepted the registration. */
  readonly registered: Promise<void>;
  /** Deregisters, refuses new calls, lets in-flight ones finish, and closes. */
  stop(): Promise<void>;
}

/** Starts an agent; rejects (and serves nothing) when a key, a schema or the policy bundle cannot be loaded. */
export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const { config } = o;
  const logger = o.logger ?? createLogger(o.name, config.logLevel);
  if (config.devKeys) {
    await ensureDevKeys(join(config.home, "keys"));
  }
  const verifier = createTokenVerifier({ keys: await loadVerificationKeys(config.jwksPath), self: o.name, ...(config.roleKeys === undefined ? {} : { roleKeys: config.roleKeys }) });
  const token = createTokenSource(await loadSigningKey(config.signingKeyPath), { subject: o.name, role: o.role });
  const telemetry = await startTelemetry({
    service: o.name, version: o.version, instanceId: config.instanceId, dataDir: config.dataDir, config: config.telemetry, logger,
    ...(o.spanExporter === undefined ? {} : { exporter: o.spanExporter }),
    ...(o.metricReader === undefined ? {} : { metricReader: o.metricReader }),
  });
  // The service does not start without its policy: a bundle that fails to load stops the telemetry again.
  const policy = o.policy === undefined
    ? await startPolicy({ dir: config.policyDir, auditPath: join(config.dataDir, `${o.name}.audit.jsonl`), service: { name: o.name, kind: "agent" }, logger, metrics: telemetry.metrics }).catch(async (err: unknown) => {
      await telemetry.shutdown();
      throw err;
    })
    : undefined;
  const policyStep = o.policy ?? policy?.interceptor;

  const schemas = createSchemaValidator();
  const intents = new Map(o.intents.map((i) => [i.name, i as IntentDefinition<never, unknown>]));
  for (const i of o.intents) {
    schemas.compile(i.inputSchema);
    schemas.compile(i.outputSchema);
  }
  const journal = createFileTaskJournal(join(config.dataDir, `${o.name}.tasks.jsonl`));
  const store = createTaskStore(journal);
  const gateway = createGrpcClient(config.gatewayAddress);
  const validators = createDelegationValidators({
    catalog: { inputSchema: (name) => intents.get(name)?.inputSchema },
    schemas,
    maxInlineBytes: config.maxInlineBytes,
    isSettled: (id) => store.get(id)?.settled === true,
  });
  const execute = traceTasks(createIntentExecutor({ intents, schemas, gateway, token, logger, telemetry, artifactsUrl: config.artifactsUrl }), telemetry);
  const delegationImpl = createDelegationServiceImpl({ store, execute });
  const approvals = createServiceApprovals({
    name: o.name, dataDir: config.dataDir, store, delegationImpl, targets: () => [o.name], logger, metrics: telemetry.metrics,
    ...(policy === undefined ? {} : { onDecision: policy.recordApproval }),
    ...(policyStep === undefined ? {} : { policy: policyStep }),
  });
  const chain = createGovernanceChain({
    logger, verifier, validators: new Map([...validators, ...approvals.validators, ...(policy?.validators ?? [])]), tasks: store, agent: o.name, checkSelfCycle: true, telemetry,
    chainLimits: { maxDepth: config.maxDepth },
    approvals: approvals.gate,
    ...(policyStep === undefined ? {} : { policy: policyStep }),
    ...(policy === undefined ? {} : { auditRefusals: policy.refusals }),
  });
  const delegation = bindService(DelegationService, delegationImpl, chain);
  const server = await serve({
    services: [delegation, bindService(ApprovalService, approvals.service, chain), ...(policy?.services(chain) ?? [])],
    grpcAddress: config.grpcAddress,
    connectAddress: config.connectAddress,
    maxMessageBytes: config.maxMessageBytes,
    logger,
  });

  // Queued tasks of this agent's intents, pulled from the queue (embedded unless AGENTMESH_QUEUE names NATS).
  const backend = await openQueueBackend({
    url: config.queue.url, dir: config.queue.dir, settings: config.queue.settings,
    onError: (err) => logger.warn("queue backend: background work failed; retrying", { error: String(err) }),
  }).catch(async (err: unknown) => {
    await server.shutdown(0);
    await telemetry.shutdown();
    throw err;
  });
  // Pulled only once the gateway accepted the registration: the offers grant this agent its intents, and queued tasks carry its token.
  let queueWorker: QueueWorker | undefined;
  let stopped = false;
  const startPulling = () => {
    if (stopped) return;
    queueWorker = startQueueWorker({
      backend, agent: o.name, intents: o.intents.map((i) => i.name), delegate: delegateHandlerOf(delegation), tasks: store, logger,
      maxInFlight: config.queue.maxInFlight, maxDeliveries: config.queue.settings.maxDeliveries, ackWaitMs: config.queue.settings.ackWaitMs,
    });
  };

  const endpoints = [{ protocol: Protocol.GRPC, address: `${config.advertiseHost}:${server.grpcPort}` }];
  if (server.connectPort !== 0) endpoints.push({ protocol: Protocol.CONNECT, address: `${config.advertiseHost}:${server.connectPort}` });
  const registration = startRegistration({
    gateway, token, instanceId: config.instanceId, logger,
    card: {
      name: o.name,
      description: o.description,
      version: o.version,
      intents: o.intents.map((i) => ({
        name: i.name, description: i.description, inputSchema: i.inputSchema as never, outputSchema: i.outputSchema as never,
        tools: [...i.tools], requiredScopes: [...i.requiredScopes],
      })),
      tools: o.tools.map((t) => ({ name: t.name, description: t.description, scopes: [...t.scopes] })),
      scopes: [...o.scopes],
      endpoints,
    },
  });
  void registration.registered.then(startPulling);

  let stopping: Promise<void> | undefined;
  return {
    grpcPort: server.grpcPort,
    connectPort: server.connectPort,
    registered: registration.registered,
    stop() {
      stopping ??= (async () => {
        try {
          await registration.stop();
          stopped = true;
          await queueWorker?.stop(config.shutdownGraceMs);
          await server.shutdown(config.shutdownGraceMs);
          if (!(await waitIdle(store, config.shutdownGraceMs))) logger.warn("stopping with tasks still running; they replay as interrupted");
          await approvals.stop();
          await policy?.close();
          gateway.close();
          await backend.close();
          await journal.close();
        } finally {
          // Whatever failed above, the spans and metrics recorded so far are flushed.
          await telemetry.shutdown();
        }
      })();
      return stopping;
    },
  };
}
