/**
 * The gateway's settings: the mesh settings (see mesh/config.ts) plus
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | AGENTMESH_AGENT_CARDS | unset | JSON file of static agent cards (`{"agents": [AgentCard, ...]}` in proto JSON); a static card grants its agent its intents, and its schemas win over any registration's |
 * | AGENTMESH_AGENT_OFFERS | unset | JSON file of which agent may register which intents (`{"agents": {"<agent name>": ["<intent>", ...]}}`); unset, and with no static card, every registration is refused |
 * | AGENTMESH_LEASE_TTL_MS | 10000 | lease of a registered replica |
 * | AGENTMESH_RETRY_ATTEMPTS | 3 | attempts per call on UNAVAILABLE, including the first |
 */
import { readMeshConfig } from "../mesh/index.js";
import type { MeshConfig } from "../mesh/index.js";

/** Default gateway ports: gRPC 7070, Connect / gRPC-Web 7071. */
export const gatewayDefaults = { grpcAddress: "127.0.0.1:7070", connectAddress: "127.0.0.1:7071" };

/** Fully populated gateway settings. */
export interface GatewayConfig extends MeshConfig {
  readonly agentCardsPath: string | undefined;
  readonly agentOffersPath: string | undefined;
  readonly leaseTtlMs: number;
  readonly retryAttempts: number;
}

/** Reads the gateway settings from `env`. */
export function readGatewayConfig(env: Readonly<Record<string, string | undefined>>): GatewayConfig {
  const mesh = readMeshConfig(env, gatewayDefaults);
  const lease = Number(env.AGENTMESH_LEASE_TTL_MS ?? 10_000);
  const attempts = Number(env.AGENTMESH_RETRY_ATTEMPTS ?? 3);
  if (!Number.isInteger(lease) || lease < 1000) throw new Error("AGENTMESH_LEASE_TTL_MS must be an integer of at least 1000");
  if (!Number.isInteger(attempts) || attempts < 1) throw new Error("AGENTMESH_RETRY_ATTEMPTS must be a positive integer");
  return { ...mesh, agentCardsPath: env.AGENTMESH_AGENT_CARDS, agentOffersPath: env.AGENTMESH_AGENT_OFFERS, leaseTtlMs: lease, retryAttempts: attempts };
}
