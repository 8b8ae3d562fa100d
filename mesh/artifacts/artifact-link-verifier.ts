/**
 * Verifies artifact links synchronously. The Delegate validator checks the links
 * a request carries inside the (synchronous) validation step, and the HTTP
 * endpoint checks the one it serves, so one verifier built on `node:crypto`
 * serves both: a compact JWS is a signature over `header.payload`, checked here
 * with the public keys of the mesh's JWKS, each pinned to the algorithm its JWK
 * names (no algorithm comes from the token alone). jose signs the links
 * (artifact-link.ts) and accepts what this accepts; the tests check both ways.
 */
import { createPublicKey, verify as verifySignature } from "node:crypto";
import type { JsonWebKey, KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { RoleKeys } from "../auth/tokens.js";
import { tokenIssuer } from "../auth/tokens.js";
import { cryptoKeyInput, jwsAlgorithms, jwsKeyObject } from "../auth/jws-algorithms.js";
import type { JwsAlgorithm } from "../auth/jws-algorithms.js";
import { ArtifactLinkError } from "./artifact-link-error.js";
import { artifactLinkAudience, artifactLinkType, maxArtifactLinkTtlSeconds, parseArtifactLinkUri } from "./artifact-link.js";
import type { ArtifactLinkClaims } from "./artifact-link.js";

/** Checks a link's JWS and returns its claims; throws `ArtifactLinkError` (`link_invalid`, `link_expired`). */
export interface ArtifactLinkVerifier {
  /** Verifies the JWS of a link; `now` in epoch ms, default the clock. */
  verify(jws: string, now?: number): ArtifactLinkClaims;
  /** Verifies a link URI, and that the id in its path is the signed one. */
  verifyUri(uri: string, now?: number): ArtifactLinkClaims;
  /**
   * The key ids whose links it accepts: those AGENTMESH_AUTH_ROLE_KEYS names for
   * role `gateway`, else every key of the JWKS (`pinned` false).
   */
  readonly signers: { readonly kids: readonly string[]; readonly pinned: boolean };
}

/** Options of `createArtifactLinkVerifier`. */
export interface ArtifactLinkVerifierOptions {
  /** The mesh's public keys (a JWKS document's `keys`), each with `kid` and `alg`. */
  readonly keys: readonly JsonWebKey[];
  /** When it names role `gateway`, only those key ids may sign links (AGENTMESH_AUTH_ROLE_KEYS). */
  readonly roleKeys?: RoleKeys;
  /** Allowed clock skew on expiry; default 5 s. */
  readonly clockToleranceSeconds?: number;
  /** Longest lifetime (exp - iat) of a link it accepts; default `maxArtifactLinkTtlSeconds` (7 days). */
  readonly maxLifetimeSeconds?: number;
}

interface PinnedKey {
  readonly alg: string;
  readonly algorithm: JwsAlgorithm;
  readonly key: KeyObject;
}

/** Creates a verifier over `keys`; throws when a key lacks `kid`, names no supported `alg`, or does not import. */
export function createArtifactLinkVerifier(options: ArtifactLinkVerifierOptions): ArtifactLinkVerifier {
  const tolerance = options.clockToleranceSeconds ?? 5;
  const maxLifetime = options.maxLifetimeSeconds ?? maxArtifactLinkTtlSeconds;
  const keys = new Map<string, PinnedKey>();
  for (const jwk of options.keys) {
    const { kid, alg } = jwk as { kid?: unknown; alg?: unknown };
    // The mesh's own table of algorithms (the token signer and verifier use it too).
    const algorithm = typeof alg === "string" ? jwsAlgorithms[alg] : undefined;
    if (typeof kid !== "string" || typeof alg !== "string" || algorithm === undefined) {
      throw new Error(`a JWKS key needs a kid and one of the algorithms ${Object.keys(jwsAlgorithms).join(", ")}`);
    }
    const { d: _private, ...pub } = jwk;
    const key = jwsKeyObject(createPublicKey({ key: pub, format: "jwk" }), algorithm, "public");
    if (key === undefined) throw new Error(`JWKS key ${kid} is not a key of its algorithm ${alg}`);
    keys.set(kid, { alg, algorithm, key });
  }
  const gatewayKids = options.roleKeys?.get("gateway");

  const verify = (jws: string, now = Date.now()): ArtifactLinkClaims => {
    const parts = jws.split(".");
    if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) throw invalid("not a compact JWS");
    const [h, p, s] = parts as [string, string, string];
    const header = decodeJson(h) as { alg?: unknown; kid?: unknown; typ?: unknown; crit?: unknown };
    if (header.typ !== artifactLinkType) throw invalid(`its type is not ${artifactLinkType}`);
    if (header.crit !== undefined) throw invalid("it names critical header parameters");
    const pinned = typeof header.kid === "string" ? keys.get(header.kid) : undefined;
    if (pinned === undefined || pinned.alg !== header.alg) throw invalid("no trusted key signed it");
    if (gatewayKids !== undefined && !gatewayKids.has(header.kid as string)) throw invalid("its key may not sign for the gateway");
    if (!signatureHolds(pinned, `${h}.${p}`, Buffer.from(s, "base64url"))) throw invalid("signature verification failed");
    const payload = decodeJson(p);
    const claims = readClaims(payload);
    const { iat } = payload as { iat?: unknown };
    if (typeof iat !== "number" || !Number.isFinite(iat)) throw invalid("claim 'iat' is missing");
    // However the key was used, a link lives no longer than the mesh allows.
    if (claims.expiresAt - iat > maxLifetime) throw invalid(`its lifetime (${claims.expiresAt - iat} s) is longer than the ${maxLifetime} s a link may live`);
    if (now / 1000 > claims.expiresAt + tolerance) {
      throw new ArtifactLinkError("link_expired", `the link expired at ${new Date(claims.expiresAt * 1000).toISOString()}: ask the task's owner for a new one`);
    }
    return claims;
  };
  return {
    verify,
    signers: { kids: [...keys.keys()].filter((kid) => gatewayKids?.has(kid) ?? true), pinned: gatewayKids !== undefined },
    verifyUri(uri, now) {
      const { artifactId, jws } = parseArtifactLinkUri(uri);
      const claims = verify(jws, now);
      if (claims.artifactId !== artifactId) throw invalid("the artifact id in its path is not the one it was signed for");
      return claims;
    },
  };
}

/** Reads the JWKS file at `path` into a verifier (the gateway's AGENTMESH_AUTH_JWKS). */
export async function loadArtifactLinkVerifier(path: string, roleKeys?: RoleKeys): Promise<ArtifactLinkVerifier> {
  const jwks = JSON.parse(await readFile(path, "utf8")) as { keys?: JsonWebKey[] };
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error(`${path}: a JWKS with at least one key is required`);
  return createArtifactLinkVerifier({ keys: jwks.keys, ...(roleKeys === undefined ? {} : { roleKeys }) });
}

function signatureHolds(pinned: PinnedKey, signed: string, signature: Buffer): boolean {
  try {
    return verifySignature(pinned.algorithm.digest, Buffer.from(signed), cryptoKeyInput(pinned.key, pinned.algorithm), signature);
  } catch {
    return false;
  }
}

function readClaims(payload: unknown): ArtifactLinkClaims {
  const c = payload as Record<string, unknown> | null;
  if (typeof c !== "object" || c === null) throw invalid("its claims are not an object");
  if (c.iss !== tokenIssuer || c.aud !== artifactLinkAudience) throw invalid("it was not issued by the mesh for artifacts");
  const { art, dig, size, mt, task, sub, exp } = c;
  if (typeof art !== "string" || !/^[A-Za-z0-9_-]+$/.test(art)) throw invalid("claim 'art' is not an artifact id");
  if (typeof dig !== "string" || !/^sha256:[0-9a-f]{64}$/.test(dig)) throw invalid("claim 'dig' is not a sha256 digest");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw invalid("claim 'size' is not a byte count");
  if (typeof mt !== "string" || mt === "") throw invalid("claim 'mt' is not a media type");
  if (typeof task !== "string" || task === "") throw invalid("claim 'task' is not a task id");
  if (typeof sub !== "string" || sub === "") throw invalid("claim 'sub' is not a subject");
  if (typeof exp !== "number" || !Number.isFinite(exp)) throw invalid("claim 'exp' is missing");
  return { artifactId: art, digest: dig, size, mediaType: mt, taskId: task, uploader: sub, expiresAt: exp };
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch (err) {
    throw invalid("a part is not base64url JSON", err);
  }
}

function invalid(why: string, cause?: unknown): ArtifactLinkError {
  return new ArtifactLinkError("link_invalid", `not a link signed by the mesh: ${why}`, cause === undefined ? undefined : { cause });
}
