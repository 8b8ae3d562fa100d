/**
 * Which agents offer which intents, and where their live replicas answer. Cards
 * come from a static file (replicas that never expire) and from registrations
 * (replicas that live as long as their lease). A replica that fails with
 * UNAVAILABLE is backed off for a while, doubling on repeated failures. A static
 * card is authoritative for the schemas of the intents it offers; the table does
 * not check who may register what (the registry service does, before `register`).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { AgentEntrySchema, Protocol } from "../gen/agentmesh/v1/registry_pb.js";
import type { AgentCard, AgentEntry } from "../gen/agentmesh/v1/registry_pb.js";

/** One replica the gateway may route to. */
export interface Replica {
  readonly agent: string;
  readonly instanceId: string;
  /** gRPC host:port. */
  readonly address: string;
}

interface InstanceState {
  readonly instanceId: string;
  readonly address: string;
  card: AgentCard;
  /** Epoch ms; undefined for static replicas. */
  leaseExpiresAt: number | undefined;
  unhealthyUntil: number;
  failures: number;
}

/** Options of `createRoutingTable`. */
export interface RoutingTableOptions {
  /** Lease of a registered replica, in ms. */
  readonly leaseTtlMs: number;
  /** First back-off after a failure; doubles per consecutive failure up to `maxBackoffMs`. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/** The routing table; see `createRoutingTable`. */
export interface RoutingTable {
  /** Adds a static card; its GRPC endpoints are replicas that never expire, its schemas win over registrations'. */
  addStatic(card: AgentCard): void;
  /** Adds or replaces a registered replica. Throws when the card has no gRPC endpoint. */
  register(card: AgentCard, instanceId: string): void;
  /** Renews a lease; false when the replica is unknown or its lease ran out. */
  heartbeat(agent: string, instanceId: string): boolean;
  deregister(agent: string, instanceId: string): void;
  /**
   * The input schema of `intent`: the first static card's that declares it,
   * whatever registrations say; else the most recent registration's.
   */
  inputSchema(intent: string): Record<string, unknown> | undefined;
  /** True when some card (live or not) declares `intent`. */
  knows(intent: string): boolean;
  /**
   * Live, healthy replicas offering `intent`, rotated round-robin so successive
   * calls spread over them; `exclude` drops replicas already tried.
   */
  pick(intent: string, exclude?: ReadonlySet<string>): Replica[];
  /** The live replica at `address` offering `intent`, healthy or backed off; undefined when there is none. */
  replicaAt(intent: string, address: string): Replica | undefined;
  /** Records a failed call to a replica (starts or extends its back-off). */
  markFailure(replica: Replica): void;
  /** Records a successful call (ends any back-off). */
  markSuccess(replica: Replica): void;
  /** Agents with their live replicas, optionally only those offering `intent`. */
  list(intent?: string): AgentEntry[];
}

/** Creates an empty routing table. */
export function createRoutingTable(o: RoutingTableOptions): RoutingTable {
  const now = o.now ?? Date.now;
  const backoff = o.backoffMs ?? 1_000;
  const maxBackoff = o.maxBackoffMs ?? 30_000;
  const instances = new Map<string, InstanceState>();
  const staticSchemas = new Map<string, Record<string, unknown>>();
  const registeredSchemas = new Map<string, Record<string, unknown>>();
  const declared = new Set<string>();
  let rotation = 0;

  const key = (agent: string, instanceId: string) => `${agent}\u0000${instanceId}`;
  const live = (s: InstanceState) => s.leaseExpiresAt === undefined || s.leaseExpiresAt > now();
  const learn = (card: AgentCard, authoritative: boolean) => {
    for (const i of card.intents) {
      declared.add(i.name);
      if (i.inputSchema === undefined || (authoritative && staticSchemas.has(i.name))) continue;
      (authoritative ? staticSchemas : registeredSchemas).set(i.name, i.inputSchema);
    }
  };
  const grpcAddress = (card: AgentCard) => card.endpoints.find((e) => e.protocol === Protocol.GRPC)?.address;
  const put = (card: AgentCard, instanceId: string, address: string, leaseExpiresAt: number | undefined) => {
    instances.set(key(card.name, instanceId), { instanceId, address, card, leaseExpiresAt, unhealthyUntil: 0, failures: 0 });
  };

  return {
    addStatic(card) {
      for (const e of card.endpoints) {
        if (e.protocol === Protocol.GRPC) put(card, `static:${e.address}`, e.address, undefined);
      }
      learn(card, true);
    },
    register(card, instanceId) {
      const address = grpcAddress(card);
      if (address === undefined) throw new Error(`card ${card.name} has no gRPC endpoint`);
      learn(card, false);
      put(card, instanceId, address, now() + o.leaseTtlMs);
    },
    heartbeat(agent, instanceId) {
      const s = instances.get(key(agent, instanceId));
      if (s === undefined || s.leaseExpiresAt === undefined || !live(s)) return false;
      s.leaseExpiresAt = now() + o.leaseTtlMs;
      return true;
    },
    deregister(agent, instanceId) {
      instances.delete(key(agent, instanceId));
    },
    inputSchema: (intent) => staticSchemas.get(intent) ?? registeredSchemas.get(intent),
    knows: (intent) => declared.has(intent),
    pick(intent, exclude) {
      const t = now();
      const candidates: Replica[] = [];
      for (const [k, s] of instances) {
        if (!live(s)) {
          if (s.leaseExpiresAt !== undefined) instances.delete(k);
          continue;
        }
        if (s.unhealthyUntil > t || !s.card.intents.some((i) => i.name === intent)) continue;
        if (exclude?.has(s.address)) continue;
        candidates.push({ agent: s.card.name, instanceId: s.instanceId, address: s.address });
      }
      if (candidates.length < 2) return candidates;
      const start = rotation++ % candidates.length;
      return [...candidates.slice(start), ...candidates.slice(0, start)];
    },
    replicaAt(intent, address) {
      for (const s of instances.values()) {
        if (s.address === address && live(s) && s.card.intents.some((i) => i.name === intent)) return { agent: s.card.name, instanceId: s.instanceId, address: s.address };
      }
      return undefined;
    },
    markFailure(r) {
      const s = instances.get(key(r.agent, r.instanceId));
      if (s === undefined) return;
      s.failures++;
      s.unhealthyUntil = now() + Math.min(maxBackoff, backoff * 2 ** (s.failures - 1));
    },
    markSuccess(r) {
      const s = instances.get(key(r.agent, r.instanceId));
      if (s !== undefined) {
        s.failures = 0;
        s.unhealthyUntil = 0;
      }
    },
    list(intent) {
      const byAgent = new Map<string, AgentEntry>();
      const t = now();
      for (const s of instances.values()) {
        if (!live(s) || (intent !== undefined && intent !== "" && !s.card.intents.some((i) => i.name === intent))) continue;
        let entry = byAgent.get(s.card.name);
        if (entry === undefined) byAgent.set(s.card.name, (entry = create(AgentEntrySchema, { card: { ...s.card, endpoints: [] } })));
        entry.instances.push({
          $typeName: "agentmesh.v1.AgentInstance",
          instanceId: s.instanceId,
          endpoints: s.card.endpoints,
          leaseExpiresAt: s.leaseExpiresAt === undefined ? undefined : timestampFromMs(s.leaseExpiresAt),
          healthy: s.unhealthyUntil <= t,
        });
      }
      return [...byAgent.values()].sort((a, b) => a.card!.name.localeCompare(b.card!.name));
    },
  };
}
