/**
 * Signed artifact links. An artifact travels by reference: an `ArtifactRef` whose
 * `uri` is a link the gateway signed, scoped to one task, with the artifact's
 * id, digest, size and media type, and an expiry:
 *
 *   <base>/v1/artifacts/<artifact id>?link=<JWS>
 *
 * The JWS is a compact JWT signed with the gateway's key (the one it signs hop
 * tokens with), protected header `typ: agentmesh-artifact+jwt`, and claims
 *
 *   iss "agentmesh"   aud "agentmesh:artifacts"   sub  who uploaded (may read it back)
 *   art artifact id   dig "sha256:<hex>"           size bytes   mt media type
 *   task the task the link is scoped to            iat, exp (epoch s)
 *
 * The `typ` and the missing `role` claim keep a link from ever passing as a
 * bearer token, and a bearer token from passing as a link. The host in the URI
 * is only where to fetch: any gateway with the same store and keys serves it.
 */
import { SignJWT } from "jose";
import type { SigningKey } from "../auth/keys.js";
import { tokenIssuer } from "../auth/tokens.js";
import { ArtifactLinkError } from "./artifact-link-error.js";

/** The JWS `typ` of an artifact link. */
export const artifactLinkType = "agentmesh-artifact+jwt";

/** The audience of an artifact link. */
export const artifactLinkAudience = `${tokenIssuer}:artifacts`;

/**
 * Longest lifetime (exp - iat) a link may have: 7 days. The verifier refuses a
 * longer one, and the gateway refuses AGENTMESH_ARTIFACT_LINK_TTL_S above it.
 */
export const maxArtifactLinkTtlSeconds = 7 * 86_400;

/** The path of the artifacts collection on the gateway's artifact endpoint. */
export const artifactsPath = "/v1/artifacts";

/** What a link says, once verified. */
export interface ArtifactLinkClaims {
  readonly artifactId: string;
  /** `sha256:<hex>` of the bytes. */
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  /** The task the link is scoped to: its owner and the agents on its chain may fetch. */
  readonly taskId: string;
  /** Subject of the caller that uploaded the artifact. */
  readonly uploader: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** Signs the JWS of a link with the gateway's key. */
export function signArtifactLink(key: SigningKey, claims: ArtifactLinkClaims): Promise<string> {
  return new SignJWT({ art: claims.artifactId, dig: claims.digest, size: claims.size, mt: claims.mediaType, task: claims.taskId })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: artifactLinkType })
    .setIssuer(tokenIssuer)
    .setAudience(artifactLinkAudience)
    .setSubject(claims.uploader)
    .setIssuedAt()
    .setExpirationTime(claims.expiresAt)
    .sign(key.key);
}

/** The URI of a link: `<base>/v1/artifacts/<id>?link=<jws>` (`base` without a trailing slash). */
export function artifactLinkUri(base: string, artifactId: string, jws: string): string {
  return `${base.replace(/\/+$/, "")}${artifactsPath}/${encodeURIComponent(artifactId)}?link=${jws}`;
}

/** The parts of a link URI, not yet verified. */
export interface ParsedArtifactLink {
  /** The id in the path; it must match the signed one. */
  readonly artifactId: string;
  readonly jws: string;
}

/**
 * Splits a link URI (absolute, or a path with its query) into the artifact id of
 * its path and its JWS. Throws `ArtifactLinkError` (`link_missing` without a
 * `link` parameter, `link_invalid` for anything that is not such a URI).
 */
export function parseArtifactLinkUri(uri: string): ParsedArtifactLink {
  let url: URL;
  try {
    url = new URL(uri, "http://link.invalid");
  } catch (err) {
    throw new ArtifactLinkError("link_invalid", "not a URL", { cause: err });
  }
  const m = new RegExp(`^${artifactsPath}/([A-Za-z0-9_-]+)$`).exec(url.pathname);
  if (m === null || !/^https?:$/.test(url.protocol)) {
    throw new ArtifactLinkError("link_invalid", `not an artifact link: expected <gateway>${artifactsPath}/<id>?link=<signed link>`);
  }
  const jws = url.searchParams.get("link");
  if (jws === null || jws === "") {
    throw new ArtifactLinkError("link_missing", "the link parameter is missing: fetch the uri of the artifact's reference as it is");
  }
  return { artifactId: m[1]!, jws };
}
