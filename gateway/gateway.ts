/**
 * `startGateway`: the router between supervisors and workers. It serves
 * `DelegationService` (every call admitted by the same governance chain as an
 * agent, then forwarded to a worker) and `RegistryService` (agent replicas).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fromJson } from "@bufbuild/protobuf";
import type { JsonValue } from "@bufbuild/protobuf";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { AgentCardSchema, RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import {
  bindService, createDelegationServiceImpl, createDelegationValidators, createFileTaskJournal, createGovernanceChain,
  createLogger, createSchemaValidator, createTaskStore, createTokenSource, createTokenVerifier, describeViolations,
  ensureDevKeys, loadSigningKey, loadVerificationKeys, serve,
} from "../mesh/index.js";
import type { Logger, MeshInterceptor } from "../mesh/index.js";
import type { GatewayConfig } from "./config.js";
import { createForwarder } from "./forwarder.js";
import { cardViolations, createRegistryServiceImpl, createRegistryValidators } from "./registry-service.js";
import { createRoutingTable } from "./routing-table.js";
import type { RoutingTable } from "./routing-table.js";

/** The gateway's name on tokens, logs and results. */
export const gatewayName = "gateway";

/** A running gateway. */
export interface RunningGateway {
  readonly grpcPort: number;
  readonly connectPort: number;
  readonly table: RoutingTable;
  stop(): Promise<void>;
}

/** Starts the gateway; rejects when keys or the static cards cannot be loaded. */
export async function startGateway(config: GatewayConfig, options: { logger?: Logger; policy?: MeshInterceptor } = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger(gatewayName, config.logLevel);
  if (config.devKeys) await ensureDevKeys(join(config.home, "keys"));
  const verifier = createTokenVerifier({ keys: await loadVerificationKeys(config.jwksPath) });
  const token = createTokenSource(await loadSigningKey(config.signingKeyPath), { subject: gatewayName, role: "gateway" });
  const schemas = createSchemaValidator();
  const table = createRoutingTable({ leaseTtlMs: config.leaseTtlMs });
  if (config.agentCardsPath !== undefined) {
    await loadStaticCards(config.agentCardsPath, table, schemas);
  }
  const journal = createFileTaskJournal(join(config.dataDir, `${gatewayName}.tasks.jsonl`));
  const store = createTaskStore(journal);
  const validators = new Map([
    ...createDelegationValidators({ catalog: table, schemas, maxInlineBytes: config.maxInlineBytes }),
    ...createRegistryValidators(schemas),
  ]);
  const chain = createGovernanceChain({
    logger, verifier, validators, tasks: store, agent: gatewayName, checkSelfCycle: false,
    chainLimits: { maxDepth: config.maxDepth },
    ...(options.policy === undefined ? {} : { policy: options.policy }),
  });
  const forwarder = createForwarder({ table, token, logger, maxAttempts: config.retryAttempts });
  const server = await serve({
    services: [
      bindService(DelegationService, createDelegationServiceImpl({ store, execute: forwarder.execute }), chain),
      bindService(RegistryService, createRegistryServiceImpl(table, config.leaseTtlMs), chain),
    ],
    grpcAddress: config.grpcAddress,
    connectAddress: config.connectAddress,
    maxMessageBytes: config.maxMessageBytes,
    logger,
  });
  let stopping: Promise<void> | undefined;
  return {
    grpcPort: server.grpcPort,
    connectPort: server.connectPort,
    table,
    stop() {
      stopping ??= (async () => {
        await server.shutdown(config.shutdownGraceMs);
        forwarder.close();
        await journal.close();
      })();
      return stopping;
    },
  };
}

/** Loads `{"agents": [...]}` of proto-JSON agent cards into the table; throws naming the bad card. */
async function loadStaticCards(path: string, table: RoutingTable, schemas: ReturnType<typeof createSchemaValidator>): Promise<void> {
  const doc = JSON.parse(await readFile(path, "utf8")) as { agents?: JsonValue[] };
  for (const [n, raw] of (doc.agents ?? []).entries()) {
    const card = fromJson(AgentCardSchema, raw);
    const violations = cardViolations(card, schemas);
    if (violations.length > 0) throw new Error(`${path}: agents[${n}] (${card.name}): ${describeViolations(violations, 10)}`);
    table.addStatic(card);
  }
}
