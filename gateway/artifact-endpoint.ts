/**
 * Wires the artifact endpoint from the gateway's parts, so `startGateway` needs
 * one call: the links are signed with the gateway's key, the caller is verified
 * with the gateway's verifier, a task's owner is the gateway's record of who
 * delegated it or else the shared task record of the backend, and the agents are
 * the ones the offers name.
 */
import { createArtifactAccess, sharedTaskOwnership } from "../mesh/index.js";
import type { ArtifactLinkVerifier, Logger, SigningKey, TokenVerifier } from "../mesh/index.js";
import type { ArtifactStore, KvStore } from "../mesh/queue/queue-types.js";
import { startArtifactHttp } from "./artifact-http.js";
import type { RunningArtifactHttp } from "./artifact-http.js";
import type { GatewayConfig } from "./config.js";

/** What the gateway hands its artifact endpoint. */
export interface GatewayArtifactParts {
  readonly config: GatewayConfig;
  /** The artifact store of the gateway's queue backend. */
  readonly store: ArtifactStore;
  readonly signingKey: SigningKey;
  readonly verifier: TokenVerifier;
  readonly links: ArtifactLinkVerifier;
  /** The backend's shared store: task records of every gateway, and upload reservations. */
  readonly kv: KvStore;
  /** Who delegated a task this gateway's journal knows (else the shared record says). */
  readonly taskOwner: (taskId: string) => string | undefined;
  /** True for the agents the offers name. */
  readonly isAgent: (subject: string) => boolean;
  readonly logger: Logger;
}

/**
 * The warning to log when any of several trusted keys may sign links: without a
 * `gateway` entry in AGENTMESH_AUTH_ROLE_KEYS an agent's key can sign a link the
 * gateway accepts. With one key (the development setup) there is no one else.
 */
export function linkSignersWarning(links: ArtifactLinkVerifier): string | undefined {
  const { kids, pinned } = links.signers;
  if (pinned || kids.length <= 1) return undefined;
  return `any of the ${kids.length} keys of AGENTMESH_AUTH_JWKS (${kids.join(", ")}) can sign artifact links this gateway accepts, an agent's too: name the key ids of the gateway in AGENTMESH_AUTH_ROLE_KEYS ({"gateway": ["<kid>"]})`;
}

/** Starts the endpoint on `config.artifacts.address`; links name AGENTMESH_ARTIFACTS_URL, or the bound address. */
export function startArtifactEndpoint(p: GatewayArtifactParts): Promise<RunningArtifactHttp> {
  const warning = linkSignersWarning(p.links);
  if (warning !== undefined) p.logger.warn(`artifact links: ${warning}`);
  return startArtifactHttp({
    address: p.config.artifacts.address,
    publicUrl: p.config.artifactsUrl,
    advertiseHost: p.config.advertiseHost,
    store: p.store,
    signingKey: p.signingKey,
    links: p.links,
    access: createArtifactAccess({ verifier: p.verifier, ...sharedTaskOwnership(p.kv, p.taskOwner), isAgent: p.isAgent }),
    maxBytes: p.config.artifacts.maxBytes,
    linkTtlSeconds: p.config.artifacts.linkTtlSeconds,
    maxUploads: p.config.artifacts.maxUploads,
    maxUploadsPerCaller: p.config.artifacts.maxUploadsPerCaller,
    maxReads: p.config.artifacts.maxReads,
    requestTimeoutMs: p.config.artifacts.requestTimeoutSeconds * 1000,
    headersTimeoutMs: p.config.artifacts.headersTimeoutSeconds * 1000,
    logger: p.logger,
  });
}
