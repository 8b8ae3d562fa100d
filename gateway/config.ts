/**
 * The gateway's settings: the mesh settings (see mesh/config.ts) plus
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | AGENTMESH_AGENT_CARDS | unset | JSON file of static agent cards (`{"agents": [AgentCard, ...]}` in proto JSON); a static card grants its agent its intents, and its schemas win over any registration's |
 * | AGENTMESH_AGENT_OFFERS | unset | JSON file of which agent may register which intents (`{"agents": {"<agent name>": ["<intent>", ...]}}`); unset, and with no static card, every registration is refused |
 * | AGENTMESH_LEASE_TTL_MS | 10000 | lease of a registered replica |
 * | AGENTMESH_RETRY_ATTEMPTS | 3 | attempts per call on UNAVAILABLE, including the first |
 * | AGENTMESH_ARTIFACTS_ADDRESS | gRPC host, gRPC port + 2 (127.0.0.1:7072) | host:port of the artifact endpoint (HTTP: `PUT /v1/artifacts?task_id=<task>` uploads, `GET <signed link>` fetches; see gateway/artifact-http.ts); port 0 (the default when the gRPC port is 0): any free port. Agents find it at the same place by default (AGENTMESH_ARTIFACTS_URL, mesh/config.ts) |
 * | AGENTMESH_MAX_ARTIFACT_BYTES | 67108864 | largest artifact upload (413 above) |
 * | AGENTMESH_ARTIFACT_LINK_TTL_S | 3600 | lifetime of a signed artifact link |
 */
import { readMeshConfig, splitAddress } from "../mesh/index.js";
import type { MeshConfig } from "../mesh/index.js";

/** Default gateway ports: gRPC 7070, Connect / gRPC-Web 7071. */
export const gatewayDefaults = { grpcAddress: "127.0.0.1:7070", connectAddress: "127.0.0.1:7071" };

/** Fully populated gateway settings. */
export interface GatewayConfig extends MeshConfig {
  readonly agentCardsPath: string | undefined;
  readonly agentOffersPath: string | undefined;
  readonly leaseTtlMs: number;
  readonly retryAttempts: number;
  /** Artifact endpoint: listen address, largest upload, link lifetime. */
  readonly artifacts: { readonly address: string; readonly maxBytes: number; readonly linkTtlSeconds: number };
}

/**
 * Where the artifact endpoint listens by default: beside the gateway's gRPC and
 * Connect ports (7070, 7071), at the gRPC port + 2 on the same host, where agents
 * look for it (`defaultArtifactsUrl`); any free port when the gRPC port is 0.
 */
export function defaultArtifactsAddress(grpcAddress: string): string {
  const { host, port } = splitAddress(grpcAddress);
  return `${host.includes(":") ? `[${host}]` : host}:${port === 0 ? 0 : port + 2}`;
}

/** Reads the gateway settings from `env`. */
export function readGatewayConfig(env: Readonly<Record<string, string | undefined>>): GatewayConfig {
  const mesh = readMeshConfig(env, gatewayDefaults);
  const lease = Number(env.AGENTMESH_LEASE_TTL_MS ?? 10_000);
  const attempts = Number(env.AGENTMESH_RETRY_ATTEMPTS ?? 3);
  if (!Number.isInteger(lease) || lease < 1000) throw new Error("AGENTMESH_LEASE_TTL_MS must be an integer of at least 1000");
  if (!Number.isInteger(attempts) || attempts < 1) throw new Error("AGENTMESH_RETRY_ATTEMPTS must be a positive integer");
  const artifacts = { address: env.AGENTMESH_ARTIFACTS_ADDRESS ?? defaultArtifactsAddress(mesh.grpcAddress), maxBytes: Number(env.AGENTMESH_MAX_ARTIFACT_BYTES ?? 64 * 1024 * 1024), linkTtlSeconds: Number(env.AGENTMESH_ARTIFACT_LINK_TTL_S ?? 3600) };
  if (!Number.isInteger(artifacts.maxBytes) || artifacts.maxBytes < 1) throw new Error("AGENTMESH_MAX_ARTIFACT_BYTES must be a positive integer");
  if (!Number.isInteger(artifacts.linkTtlSeconds) || artifacts.linkTtlSeconds < 1) throw new Error("AGENTMESH_ARTIFACT_LINK_TTL_S must be a positive integer");
  return { ...mesh, agentCardsPath: env.AGENTMESH_AGENT_CARDS, agentOffersPath: env.AGENTMESH_AGENT_OFFERS, leaseTtlMs: lease, retryAttempts: attempts, artifacts };
}
