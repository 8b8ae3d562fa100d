/**
 * `RegistryService` on the gateway: agents register their replicas, renew leases
 * and deregister. An agent may only register under its own authenticated name.
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

/** Creates the registry implementation over `table`. */
export function createRegistryServiceImpl(table: RoutingTable, leaseTtlMs: number): MeshServiceImpl<typeof RegistryService> {
  const lease = () => durationFromMs(leaseTtlMs);
  return {
    register(req, call) {
      assertSelf(call, req.card!.name);
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
