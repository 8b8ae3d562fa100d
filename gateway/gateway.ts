/**
 * `startGateway`: the router between supervisors and workers. It serves
 * `DelegationService` (every call admitted by the same governance chain as an
 * agent, then forwarded to a worker) and `RegistryService` (agent replicas, each
 * offering only the intents the configuration grants its agent).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fromJson } from "@bufbuild/protobuf";
import type { JsonValue } from "@bufbuild/protobuf";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import type { DelegateRequest } from "../gen/agentmesh/v1/delegation_pb.js";
import { ApprovalService } from "../gen/agentmesh/v1/approval_pb.js";
import { AgentCardSchema, RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import type { AgentCard } from "../gen/agentmesh/v1/registry_pb.js";
import {
  agentAudience, bindService, createAudienceTokenSource, createDelegationServiceImpl, createDelegationValidators,
  createFileTaskJournal, createGovernanceChain, createHopTokenIssuer, createLogger, createSchemaValidator, createTaskStore, createTokenVerifier,
  createServiceApprovals, describeViolations, ensureDevKeys, loadSigningKey, loadVerificationKeys, serve, startPolicy, startTelemetry, traceTasks, waitIdle,
} from "../mesh/index.js";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { IMetricReader } from "@opentelemetry/sdk-metrics";
import type { Logger, MeshInterceptor, SchemaValidator } from "../mesh/index.js";
import type { GatewayConfig } from "./config.js";
import { createForwarder } from "./forwarder.js";
import { cardViolations, createRegistryServiceImpl, createRegistryValidators, grantStaticCards, parseAgentOffers } from "./registry-service.js";
import { createRoutingTable } from "./routing-table.js";
import { createArtifactRefCheck, loadArtifactLinkVerifier } from "../mesh/index.js";
import { startArtifactEndpoint } from "./artifact-endpoint.js";
import { createQueuedDelegation } from "./queued-delegation.js";
import { createQueueServiceImpl, createQueueValidators } from "./queue-service.js";
import { QueueService } from "../gen/agentmesh/v1/queue_pb.js";
import { DelegationMode } from "../gen/agentmesh/v1/task_pb.js";
import { openQueueBackend } from "../mesh/queue/backend.js";
import type { RoutingTable } from "./routing-table.js";

/** The gateway's name on tokens, logs and results. */
export const gatewayName = "gateway";

/** The gateway's `service.version`. */
const gatewayVersion = "0.1.0";

/**
 * Lifetime of the token the gateway sends with a forwarded call that starts no
 * task (Cancel); a forwarded Delegate gets a hop token of its own, carrying its
 * chain (createHopTokenIssuer). Each is bound to its target agent; short, so a
 * leaked one is soon useless even there.
 */
const hopTokenTtlSeconds = 300;

/** A running gateway. */
export interface RunningGateway {
  readonly grpcPort: number;
  readonly connectPort: number;
  /** Base URL of the artifact endpoint (gateway/artifact-http.ts). */
  readonly artifactsUrl: string;
  readonly table: RoutingTable;
  stop(): Promise<void>;
}

/**
 * Starts the gateway; rejects when keys, the static cards, the offers file or the
 * policy bundle cannot be loaded. `options.policy` fills the policy slot; unset,
 * the bundle in `config.policyDir` (AGENTMESH_POLICY_DIR, default the repo's
 * policy/build) does, with an audit log of its decisions and of the human
 * decisions on the gateway's approvals, served by AuditService.
 * `options.spanExporter` receives the gateway's spans instead of the exporters
 * `config.telemetry` names (tests); `options.metricReader` reads its metrics instead
 * of the configured readers (tests).
 */
export async function startGateway(config: GatewayConfig, options: { logger?: Logger; policy?: MeshInterceptor; spanExporter?: SpanExporter; metricReader?: IMetricReader } = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger(gatewayName, config.logLevel);
  if (config.devKeys) await ensureDevKeys(join(config.home, "keys"));
  const verifier = createTokenVerifier({ keys: await loadVerificationKeys(config.jwksPath), self: gatewayName, ...(config.roleKeys === undefined ? {} : { roleKeys: config.roleKeys }) });
  const signingKey = await loadSigningKey(config.signingKeyPath);
  const links = await loadArtifactLinkVerifier(config.jwksPath, config.roleKeys);
  const hopTokens = createAudienceTokenSource(signingKey, { subject: gatewayName, role: "gateway", ttlSeconds: hopTokenTtlSeconds });
  const schemas = createSchemaValidator();
  const table = createRoutingTable({ leaseTtlMs: config.leaseTtlMs });
  const cards = config.agentCardsPath === undefined ? [] : await loadStaticCards(config.agentCardsPath, schemas);
  for (const card of cards) table.addStatic(card);
  const offers = config.agentOffersPath === undefined ? new Map<string, Set<string>>() : await loadAgentOffers(config.agentOffersPath);
  grantStaticCards(offers, cards);
  // Hop tokens are bound to the target's name; one bound to the gateway's own would let that agent act as the gateway here.
  if (offers.has(gatewayName)) throw new Error(`no agent may be named ${gatewayName}, the gateway's own name (AGENTMESH_AGENT_OFFERS, AGENTMESH_AGENT_CARDS)`);
  if (offers.size === 0) logger.warn("no agent may register: set AGENTMESH_AGENT_OFFERS to a file of which agent offers which intents");
  const telemetry = await startTelemetry({
    service: gatewayName, version: gatewayVersion, instanceId: config.instanceId, dataDir: config.dataDir, config: config.telemetry, logger,
    ...(options.spanExporter === undefined ? {} : { exporter: options.spanExporter }),
    ...(options.metricReader === undefined ? {} : { metricReader: options.metricReader }),
  });
  // The service does not start without its policy: a bundle that fails to load stops the telemetry again.
  const policy = options.policy === undefined
    ? await startPolicy({ dir: config.policyDir, auditPath: join(config.dataDir, `${gatewayName}.audit.jsonl`), service: { name: gatewayName, kind: "gateway" }, logger, metrics: telemetry.metrics }).catch(async (err: unknown) => {
      await telemetry.shutdown();
      throw err;
    })
    : undefined;
  const policyStep = options.policy ?? policy?.interceptor;
  const journal = createFileTaskJournal(join(config.dataDir, `${gatewayName}.tasks.jsonl`));
  const store = createTaskStore(journal);
  const validators = new Map([
    ...createDelegationValidators({ catalog: table, schemas, maxInlineBytes: config.maxInlineBytes, isSettled: (id) => store.get(id)?.settled === true, checkArtifacts: createArtifactRefCheck(links) }),
    ...createRegistryValidators(schemas),
    ...createQueueValidators(),
    ...(policy?.validators ?? []),
  ]);
  const forwarder = createForwarder({ table, token: (agent) => hopTokens(agentAudience(agent)), hopToken: createHopTokenIssuer(signingKey, { subject: gatewayName }), logger, maxAttempts: config.retryAttempts, telemetry });
  // Queued work, shared task results and artifacts: embedded on one machine, NATS JetStream past it (AGENTMESH_QUEUE).
  const backend = await openQueueBackend({
    url: config.queue.url, dir: config.queue.dir, settings: config.queue.settings,
    onError: (err) => logger.warn("queue backend: background work failed; retrying", { error: String(err) }),
  }).catch(async (err: unknown) => {
    await policy?.close();
    await telemetry.shutdown();
    throw err;
  });
  const queuedHopToken = createHopTokenIssuer(signingKey, { subject: gatewayName, maxTtlSeconds: config.queue.tokenTtlSeconds });
  const agentsFor = (intent: string) => [...offers].filter(([, intents]) => intents.has(intent)).map(([agent]) => agent);
  const queued = createQueuedDelegation({ backend, telemetry, logger, hopToken: queuedHopToken, agentsFor });
  const queueService = createQueueServiceImpl({ backend, gateway: gatewayName, keys: await loadVerificationKeys(config.jwksPath), hopToken: queuedHopToken, agentsFor });
  const delegationImpl = createDelegationServiceImpl({
    store,
    execute: traceTasks((req, call, started, signal) => (req.mode === DelegationMode.QUEUED ? queued.execute : forwarder.execute)(req, call, started, signal), telemetry),
    cancelQueued: (taskId, reason, caller) => queued.cancel(taskId, reason, caller),
  });
  const stopFollowing = await queued.follow(store);
  // An approval covers the agents the offers grant the intent to: a fact of configuration, not of which replicas are up.
  const targets = (req: DelegateRequest) => agentsFor(req.intent);
  const approvals = createServiceApprovals({
    name: gatewayName, dataDir: config.dataDir, store, delegationImpl, targets, logger, metrics: telemetry.metrics,
    ...(policy === undefined ? {} : { onDecision: policy.recordApproval }),
    ...(policyStep === undefined ? {} : { policy: policyStep }),
  });
  const chain = createGovernanceChain({
    logger, verifier, validators: new Map([...validators, ...approvals.validators]), tasks: store, agent: gatewayName, checkSelfCycle: false, telemetry,
    // Agents the offers name start no chains of their own: they prove the task they delegate from.
    chainLimits: { maxDepth: config.maxDepth, isAgent: (subject) => offers.has(subject) },
    approvals: approvals.gate,
    ...(policyStep === undefined ? {} : { policy: policyStep }),
    ...(policy === undefined ? {} : { auditRefusals: policy.refusals }),
  });
  const server = await serve({
    services: [
      bindService(DelegationService, delegationImpl, chain),
      bindService(ApprovalService, approvals.service, chain),
      bindService(RegistryService, createRegistryServiceImpl({ table, leaseTtlMs: config.leaseTtlMs, offers }), chain),
      bindService(QueueService, queueService, chain),
      ...(policy?.services(chain) ?? []),
    ],
    grpcAddress: config.grpcAddress,
    connectAddress: config.connectAddress,
    maxMessageBytes: config.maxMessageBytes,
    logger,
  });
  const artifactHttp = await startArtifactEndpoint({ config, store: backend.artifacts, kv: backend.store, signingKey, verifier, links, taskOwner: (id) => store.get(id)?.owner, isAgent: (s) => offers.has(s), logger });
  let stopping: Promise<void> | undefined;
  return {
    grpcPort: server.grpcPort,
    connectPort: server.connectPort,
    artifactsUrl: artifactHttp.url,
    table,
    stop() {
      stopping ??= (async () => {
        try {
          await server.shutdown(config.shutdownGraceMs);
          await artifactHttp.close();
          if (!(await waitIdle(store, config.shutdownGraceMs))) logger.warn("stopping with tasks still running; they replay as interrupted");
          await approvals.stop();
          await policy?.close();
          forwarder.close();
          stopFollowing();
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

/** Loads `{"agents": [...]}` of proto-JSON agent cards; throws naming the bad card. */
async function loadStaticCards(path: string, schemas: SchemaValidator): Promise<AgentCard[]> {
  const doc = JSON.parse(await readFile(path, "utf8")) as { agents?: JsonValue[] };
  return (doc.agents ?? []).map((raw, n) => {
    const card = fromJson(AgentCardSchema, raw);
    const violations = cardViolations(card, schemas);
    if (violations.length > 0) throw new Error(`${path}: agents[${n}] (${card.name}): ${describeViolations(violations, 10)}`);
    return card;
  });
}

/** Loads the offers file (`{"agents": {"<agent>": ["<intent>", ...]}}`); throws naming the bad entry. */
async function loadAgentOffers(path: string): Promise<Map<string, Set<string>>> {
  return parseAgentOffers(JSON.parse(await readFile(path, "utf8")), path);
}
