/**
 * Wires the artifact endpoint from the gateway's parts, so `startGateway` needs
 * one call: the links are signed with the gateway's key, the caller is verified
 * with the gateway's verifier, a task's owner is the gateway's record of who
 * delegated it, and the agents are the ones the offers name.
 */
import { createArtifactAccess } from "../mesh/index.js";
import type { ArtifactLinkVerifier, Logger, SigningKey, TokenVerifier } from "../mesh/index.js";
import type { ArtifactStore } from "../mesh/queue/queue-types.js";
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
  /** Who delegated a task the gateway knows. */
  readonly taskOwner: (taskId: string) => string | undefined;
  /** True for the agents the offers name. */
  readonly isAgent: (subject: string) => boolean;
  readonly logger: Logger;
}

/** Starts the endpoint on `config.artifacts.address`; links name AGENTMESH_ARTIFACTS_URL, or the bound address. */
export function startArtifactEndpoint(p: GatewayArtifactParts): Promise<RunningArtifactHttp> {
  return startArtifactHttp({
    address: p.config.artifacts.address,
    publicUrl: p.config.artifactsUrl,
    advertiseHost: p.config.advertiseHost,
    store: p.store,
    signingKey: p.signingKey,
    links: p.links,
    access: createArtifactAccess({ verifier: p.verifier, taskOwner: p.taskOwner, isAgent: p.isAgent }),
    maxBytes: p.config.artifacts.maxBytes,
    linkTtlSeconds: p.config.artifacts.linkTtlSeconds,
    logger: p.logger,
  });
}
