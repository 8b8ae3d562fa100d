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
 * | AGENTMESH_ARTIFACT_LINK_TTL_S | 3600 | lifetime of a signed artifact link, at most 604800 (7 days: links that live longer are refused); a link must outlive the wait of the task it is handed to: raise it towards AGENTMESH_QUEUE_TOKEN_TTL_S (86400) when queued tasks may wait longer than an hour. AGENTMESH_ARTIFACT_TTL_S (mesh/config.ts) must be at least this |
 * | AGENTMESH_ARTIFACT_MAX_UPLOADS | 32 | uploads in progress at once on this gateway; more are refused with 429 (`too_many_uploads`) |
 * | AGENTMESH_ARTIFACT_MAX_UPLOADS_PER_CALLER | 4 | uploads in progress at once per caller (429 above) |
 * | AGENTMESH_ARTIFACT_MAX_READS | 8 | fetches being answered at once (each holds its artifact in memory); more are refused with 429 (`too_many_reads`) |
 * | AGENTMESH_ARTIFACT_REQUEST_TIMEOUT_S | 120 | longest an artifact request may take to arrive, body included (Node's `server.requestTimeout`); a slower upload is cut off with 408 |
 * | AGENTMESH_ARTIFACT_HEADERS_TIMEOUT_S | 15 | longest a request's headers may take to arrive (`server.headersTimeout`) |
 */
import { joinAddress, maxArtifactLinkTtlSeconds, readMeshConfig, splitAddress } from "../mesh/index.js";
import type { MeshConfig } from "../mesh/index.js";

/** Default gateway ports: gRPC 7070, Connect / gRPC-Web 7071. */
export const gatewayDefaults = { grpcAddress: "127.0.0.1:7070", connectAddress: "127.0.0.1:7071" };

/** Fully populated gateway settings. */
export interface GatewayConfig extends MeshConfig {
  readonly agentCardsPath: string | undefined;
  readonly agentOffersPath: string | undefined;
  readonly leaseTtlMs: number;
  readonly retryAttempts: number;
  /** Artifact endpoint: listen address, largest upload, link lifetime, and its limits. */
  readonly artifacts: ArtifactEndpointConfig;
}

/** The artifact endpoint's settings (the AGENTMESH_ARTIFACT* rows above). */
export interface ArtifactEndpointConfig {
  readonly address: string;
  readonly maxBytes: number;
  readonly linkTtlSeconds: number;
  /** Uploads in progress at once, overall and per caller. */
  readonly maxUploads: number;
  readonly maxUploadsPerCaller: number;
  /** Fetches being answered at once. */
  readonly maxReads: number;
  /** Node's `server.requestTimeout` and `server.headersTimeout`, in seconds. */
  readonly requestTimeoutSeconds: number;
  readonly headersTimeoutSeconds: number;
}

/**
 * Where the artifact endpoint listens by default: beside the gateway's gRPC and
 * Connect ports (7070, 7071), at the gRPC port + 2 on the same host, where agents
 * look for it (`defaultArtifactsUrl`); any free port when the gRPC port is 0.
 */
export function defaultArtifactsAddress(grpcAddress: string): string {
  const { host, port } = splitAddress(grpcAddress);
  return joinAddress(host, port === 0 ? 0 : port + 2);
}

/** Reads the gateway settings from `env`. */
export function readGatewayConfig(env: Readonly<Record<string, string | undefined>>): GatewayConfig {
  const mesh = readMeshConfig(env, gatewayDefaults);
  const lease = Number(env.AGENTMESH_LEASE_TTL_MS ?? 10_000);
  const attempts = Number(env.AGENTMESH_RETRY_ATTEMPTS ?? 3);
  if (!Number.isInteger(lease) || lease < 1000) throw new Error("AGENTMESH_LEASE_TTL_MS must be an integer of at least 1000");
  if (!Number.isInteger(attempts) || attempts < 1) throw new Error("AGENTMESH_RETRY_ATTEMPTS must be a positive integer");
  const artifacts = readArtifactEndpointConfig(env, mesh.grpcAddress);
  return { ...mesh, agentCardsPath: env.AGENTMESH_AGENT_CARDS, agentOffersPath: env.AGENTMESH_AGENT_OFFERS, leaseTtlMs: lease, retryAttempts: attempts, artifacts };
}

/** The AGENTMESH_ARTIFACT* settings of the endpoint. */
function readArtifactEndpointConfig(env: Readonly<Record<string, string | undefined>>, grpcAddress: string): ArtifactEndpointConfig {
  const positive = (name: string, fallback: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = Number(env[name] ?? fallback);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
    if (v > max) throw new Error(`${name} must be at most ${max}, not ${v}`);
    return v;
  };
  const artifacts: ArtifactEndpointConfig = {
    address: env.AGENTMESH_ARTIFACTS_ADDRESS ?? defaultArtifactsAddress(grpcAddress),
    maxBytes: positive("AGENTMESH_MAX_ARTIFACT_BYTES", 64 * 1024 * 1024),
    linkTtlSeconds: positive("AGENTMESH_ARTIFACT_LINK_TTL_S", 3600, maxArtifactLinkTtlSeconds),
    maxUploads: positive("AGENTMESH_ARTIFACT_MAX_UPLOADS", 32),
    maxUploadsPerCaller: positive("AGENTMESH_ARTIFACT_MAX_UPLOADS_PER_CALLER", 4),
    maxReads: positive("AGENTMESH_ARTIFACT_MAX_READS", 8),
    requestTimeoutSeconds: positive("AGENTMESH_ARTIFACT_REQUEST_TIMEOUT_S", 120),
    headersTimeoutSeconds: positive("AGENTMESH_ARTIFACT_HEADERS_TIMEOUT_S", 15),
  };
  if (artifacts.headersTimeoutSeconds > artifacts.requestTimeoutSeconds) {
    throw new Error(`AGENTMESH_ARTIFACT_HEADERS_TIMEOUT_S (${artifacts.headersTimeoutSeconds}) must be at most AGENTMESH_ARTIFACT_REQUEST_TIMEOUT_S (${artifacts.requestTimeoutSeconds})`);
  }
  return artifacts;
}
