/**
 * Bearer tokens: signed JWTs naming the caller (`sub`) and its role (`role`),
 * issued and accepted with issuer and audience "agentmesh".
 */
import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import type { JWTVerifyGetKey } from "jose";
import { Code } from "@connectrpc/connect";
import { meshError } from "../errors.js";
import { isRole } from "./identity.js";
import type { Identity, Role } from "./identity.js";
import type { SigningKey } from "./keys.js";

/** Issuer and audience of every mesh token. */
export const tokenIssuer = "agentmesh";

/** Options of `issueToken`. */
export interface IssueTokenOptions {
  readonly subject: string;
  readonly role: Role;
  /** Lifetime; default 3600 s. */
  readonly ttlSeconds?: number;
}

/** Signs a token for `subject` in `role`. */
export async function issueToken(key: SigningKey, options: IssueTokenOptions): Promise<string> {
  return new SignJWT({ role: options.role })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
    .setSubject(options.subject)
    .setIssuer(tokenIssuer)
    .setAudience(tokenIssuer)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 3600))
    .sign(key.key);
}

/** Verifies the value of an `authorization` header and returns the caller. */
export type TokenVerifier = (authorization: string | null) => Promise<Identity>;

/** Options of `createTokenVerifier`. */
export interface TokenVerifierOptions {
  readonly keys: JWTVerifyGetKey;
  /** Allowed clock skew; default 30 s. */
  readonly clockToleranceSeconds?: number;
  /** Verified tokens remembered until they expire; default 10,000. */
  readonly cacheSize?: number;
}

/**
 * Creates a verifier. Verified tokens are cached until their expiry so the hot path
 * does not repeat the signature check; the cache is bounded.
 *
 * Throws UNAUTHENTICATED (reasons `token_missing`, `token_expired`,
 * `token_invalid`) for anything but a valid, unexpired mesh token.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const cacheSize = options.cacheSize ?? 10_000;
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const cache = new Map<string, Identity>();
  return async (authorization) => {
    const token = bearerToken(authorization);
    const cached = cache.get(token);
    if (cached !== undefined) {
      if (cached.expiresAt + clockTolerance > Date.now() / 1000) {
        return cached;
      }
      cache.delete(token);
    }
    const identity = await verify(token, options.keys, clockTolerance);
    if (cache.size >= cacheSize) {
      cache.clear();
    }
    cache.set(token, identity);
    return identity;
  };
}

function bearerToken(authorization: string | null): string {
  const m = authorization === null ? null : /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (m === null) {
    throw meshError(Code.Unauthenticated, "missing bearer token: send the header 'authorization: Bearer <token>'", {
      reason: "token_missing",
    });
  }
  return m[1]!;
}

async function verify(token: string, keys: JWTVerifyGetKey, clockTolerance: number): Promise<Identity> {
  try {
    const { payload } = await jwtVerify(token, keys, { issuer: tokenIssuer, audience: tokenIssuer, clockTolerance, requiredClaims: ["sub", "exp"] });
    if (!isRole(payload.role)) {
      throw meshError(Code.Unauthenticated, "invalid bearer token: the 'role' claim names no mesh role", { reason: "token_invalid" });
    }
    return { subject: payload.sub!, role: payload.role, expiresAt: payload.exp! };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) {
      throw meshError(Code.Unauthenticated, "expired bearer token: issue a new one", { reason: "token_expired" });
    }
    if (err instanceof joseErrors.JOSEError) {
      throw meshError(Code.Unauthenticated, `invalid bearer token: ${describeJoseError(err)}`, { reason: "token_invalid" });
    }
    throw err;
  }
}

function describeJoseError(err: InstanceType<typeof joseErrors.JOSEError>): string {
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) {
    return "signature verification failed";
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return `claim '${err.claim}' is not acceptable`;
  }
  return "malformed token";
}

/**
 * Keeps a fresh token for a service's own identity, re-issuing it when less than a
 * tenth of its lifetime is left.
 */
export function createTokenSource(key: SigningKey, options: IssueTokenOptions): () => Promise<string> {
  const ttl = options.ttlSeconds ?? 3600;
  let current: { token: string; renewAt: number } | undefined;
  return async () => {
    if (current === undefined || Date.now() >= current.renewAt) {
      const token = await issueToken(key, { ...options, ttlSeconds: ttl });
      current = { token, renewAt: Date.now() + ttl * 900 };
    }
    return current.token;
  };
}
