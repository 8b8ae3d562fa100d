/**
 * `RegistryService` on the gateway: agents register their replicas, renew leases
 * and deregister. An agent may only register under its own authenticated name,
 * and only with intents it is granted: who may offer which intent is the gateway's
 * configuration (AGENTMESH_AGENT_OFFERS, and the static cards of
 * AGENTMESH_AGENT_CARDS), never what a card claims. Otherwise any agent could
 * offer any intent and have real callers' delegations routed to itself.
 */
import { Code } from "@connectrpc/connect";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import type { AgentCard, DeregisterRequest, HeartbeatRequest, RegisterRequest } from "../gen/agentmesh/v1/registry_pb.js";
import { Protocol } from "../gen/agentmesh/v1/registry_pb.js";
import { callerKey, invalidArgument, meshError, methodKey, intentPattern, describeViolations } from "../mesh/index.js";
import type { MeshCall, MeshServiceImpl, RequestValidator, SchemaValidator, Identity } from "../mesh/index.js";
import type { RoutingTable } from "./routing-table.js";

const agentNamePattern = /^[a-z][a-z0-9-]{0,62}$/;
const instancePattern = /^[A-Za-z0-9._:-]{1,128}$/;
const addressPattern = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

/** Which intents each agent may offer, by agent name. */
export type AgentOffers = ReadonlyMap<string, ReadonlySet<string>>;

/** Options of `createRegistryServiceImpl`. */
export interface RegistryServiceOptions {
  readonly table: RoutingTable;
  readonly leaseTtlMs: number;
  /** Grants; an agent missing here may register nothing. */
  readonly offers: AgentOffers;
}

/**
 * Creates the registry implementation over `table`. Register throws
 * PERMISSION_DENIED with reason `role_not_allowed`, `not_own_registration` or
 * `intent_not_allowed` (the card offers an intent not granted to its agent).
 */
export function createRegistryServiceImpl(o: RegistryServiceOptions): MeshServiceImpl<typeof RegistryService> {
  const { table } = o;
  const lease = () => durationFromMs(o.leaseTtlMs);
  return {
    register(req, call) {
      assertSelf(call, req.card!.name);
      assertGranted(o.offers, req.card!);
      table.register(req.card!, req.instanceId);
      return Promise.resolve({ leaseTtl: lease() });
    },
    heartbeat(req, call) {
      assertSelf(call, req.agent);
      if (!table.heartbeat(req.agent, req.instanceId)) {
        throw meshError(Code.NotFound, `no live registration of ${req.agent}/${req.instanceId}: register again`, { reason: "lease_expired" });
      }
      return Promise.resolve({ leaseTtl: lease() });
    },
    deregister(req, call) {
      assertSelf(call, req.agent);
      table.deregister(req.agent, req.instanceId);
      return Promise.resolve({});
    },
    listAgents(req) {
      return Promise.resolve({ agents: table.list(req.intent) });
    },
  };
}

function assertSelf(call: MeshCall, agent: string): void {
  const caller: Identity = call.values.get(callerKey)!;
  if (caller.role !== "worker" && caller.role !== "supervisor") {
    throw meshError(Code.PermissionDenied, `only agents (worker or supervisor role) may register; the caller's role is ${caller.role}`, { reason: "role_not_allowed" });
  }
  if (caller.subject !== agent) {
    throw meshError(Code.PermissionDenied, `${caller.subject} may not register or renew agent ${agent}: an agent registers under its own name only`, { reason: "not_own_registration" });
  }
}

function assertGranted(offers: AgentOffers, card: AgentCard): void {
  const granted = offers.get(card.name);
  const refused = [...new Set(card.intents.map((i) => i.name))].filter((intent) => granted?.has(intent) !== true);
  if (refused.length > 0) {
    throw meshError(
      Code.PermissionDenied,
      `agent ${card.name} may not offer ${refused.join(", ")}: the gateway grants intents to agents in the file AGENTMESH_AGENT_OFFERS names (and by their static cards in AGENTMESH_AGENT_CARDS)`,
      { reason: "intent_not_allowed", metadata: { agent: card.name, intents: refused.join(",") } },
    );
  }
}

/**
 * Reads an offers document, `{"agents": {"<agent name>": ["<intent>", ...]}}`, into
 * grants. Throws an error naming `source` and the entry when it is malformed.
 */
export function parseAgentOffers(doc: unknown, source: string): Map<string, Set<string>> {
  const agents = isObject(doc) ? doc.agents : undefined;
  if (!isObject(agents)) throw new Error(`${source}: must be {"agents": {"<agent name>": ["<intent>", ...]}}`);
  const offers = new Map<string, Set<string>>();
  for (const [agent, intents] of Object.entries(agents)) {
    if (!agentNamePattern.test(agent)) throw new Error(`${source}: agents: "${agent}" is not a lowercase agent name`);
    if (!Array.isArray(intents) || !intents.every((i): i is string => typeof i === "string" && intentPattern.test(i))) {
      throw new Error(`${source}: agents.${agent} must be a list of intent names (lowercase words joined by dots)`);
    }
    offers.set(agent, new Set(intents));
  }
  return offers;
}

/** Adds to `offers` the intents each static card offers, granted to its agent. */
export function grantStaticCards(offers: Map<string, Set<string>>, cards: readonly AgentCard[]): void {
  for (const card of cards) {
    const granted = offers.get(card.name) ?? new Set<string>();
    for (const i of card.intents) granted.add(i.name);
    offers.set(card.name, granted);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The validators of the four registry methods, keyed by `methodKey`. */
export function createRegistryValidators(schemas: SchemaValidator): Map<string, RequestValidator> {
  const m = RegistryService.method;
  const lease: RequestValidator = (msg) => {
    const req = msg as HeartbeatRequest | DeregisterRequest;
    const violations = [
      ...(agentNamePattern.test(req.agent) ? [] : [{ field: "agent", description: "must be a lowercase agent name" }]),
      ...(instancePattern.test(req.instanceId) ? [] : [{ field: "instance_id", description: "must be 1 to 128 characters of [A-Za-z0-9._:-]" }]),
    ];
    if (violations.length > 0) throw invalidArgument(`invalid request: ${describeViolations(violations)}`, "request_invalid", violations);
  };
  const register: RequestValidator = (msg) => {
    const req = msg as RegisterRequest;
    const violations = cardViolations(req.card, schemas);
    if (!instancePattern.test(req.instanceId)) violations.push({ field: "instance_id", description: "must be 1 to 128 characters of [A-Za-z0-9._:-]" });
    if (violations.length > 0) throw invalidArgument(`invalid RegisterRequest: ${describeViolations(violations)}`, "request_invalid", violations);
  };
  return new Map<string, RequestValidator>([
    [methodKey(m.register), register],
    [methodKey(m.heartbeat), lease],
    [methodKey(m.deregister), lease],
    [methodKey(m.listAgents), () => undefined],
  ]);
}

/** Problems with an agent card (empty when it is acceptable). */
export function cardViolations(card: AgentCard | undefined, schemas: SchemaValidator): { field: string; description: string }[] {
  if (card === undefined) return [{ field: "card", description: "is required" }];
  const out: { field: string; description: string }[] = [];
  if (!agentNamePattern.test(card.name)) out.push({ field: "card.name", description: "must be a lowercase agent name" });
  if (card.intents.length === 0) out.push({ field: "card.intents", description: "must offer at least one intent" });
  card.intents.forEach((i, n) => {
    if (!intentPattern.test(i.name)) out.push({ field: `card.intents[${n}].name`, description: "must be lowercase words joined by dots" });
    for (const which of ["inputSchema", "outputSchema"] as const) {
      const schema = i[which];
      if (schema === undefined) {
        out.push({ field: `card.intents[${n}].${which === "inputSchema" ? "input_schema" : "output_schema"}`, description: "is required" });
        continue;
      }
      try {
        schemas.compile(schema);
      } catch (err) {
        out.push({ field: `card.intents[${n}].${which === "inputSchema" ? "input_schema" : "output_schema"}`, description: `is not a valid JSON Schema: ${String((err as Error).message)}` });
      }
    }
  });
  const grpcEndpoints = card.endpoints.filter((e) => e.protocol === Protocol.GRPC);
  if (grpcEndpoints.length === 0) out.push({ field: "card.endpoints", description: "must include a PROTOCOL_GRPC endpoint" });
  card.endpoints.forEach((e, n) => {
    if (!addressPattern.test(e.address)) out.push({ field: `card.endpoints[${n}].address`, description: "must be host:port" });
  });
  return out;
}
