/**
 * Bearer tokens: signed JWTs naming the caller (`sub`) and its role (`role`),
 * issued by "agentmesh". A token's audience is "agentmesh" (any mesh service) or
 * "agentmesh:<agent>" (that one agent). A gateway token is always bound to the one
 * agent it forwards a call to, so a replica that receives it cannot replay it
 * against another agent to act as the gateway (and forward callers of its choice).
 *
 * A token may carry claims of its own beyond `role` (the gateway's hop token
 * carries the delegation chain, see chain/hop-token.ts); the verifier hands them
 * back untouched, and what they mean is for their reader to judge.
 */
import { SignJWT, errors as joseErrors } from "jose";
import type { JWTPayload, JWTVerifyGetKey } from "jose";
import { Code } from "@connectrpc/connect";
import { meshError } from "../errors.js";
import { isRole } from "./identity.js";
import { canSignJws, signJws } from "./jws-sign.js";
import { verifyJwt } from "./jws-verify.js";
import type { Identity, Role } from "./identity.js";
import type { SigningKey } from "./keys.js";

/** Issuer of every mesh token, and the audience of a token for any mesh service. */
export const tokenIssuer = "agentmesh";

/** The audience of a token accepted by agent `agent` only: "agentmesh:<agent>". */
export function agentAudience(agent: string): string {
  return `${tokenIssuer}:${agent}`;
}

/** Options of `issueToken`. */
export interface IssueTokenOptions {
  readonly subject: string;
  readonly role: Role;
  /** Lifetime; default 3600 s. */
  readonly ttlSeconds?: number;
  /**
   * Who may accept the token; default "agentmesh" (every mesh service). A gateway
   * token must name its one target, `agentAudience(agent)`, or no agent accepts it.
   */
  readonly audience?: string;
  /**
   * Further claims, signed with the rest; default none. They cannot replace `role`
   * or a registered claim (`sub`, `iss`, `aud`, `iat`, `exp`): those always win.
   */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/**
 * Signs a token for `subject` in `role`, for `audience` (default "agentmesh").
 * Keys of the mesh's algorithms sign with node:crypto (jws-sign.ts), others with jose.
 */
export async function issueToken(key: SigningKey, options: IssueTokenOptions): Promise<string> {
  if (canSignJws(key)) {
    const now = Math.floor(Date.now() / 1000);
    return signJws(key, { alg: key.alg, kid: key.kid, typ: "JWT" }, {
      ...options.claims, role: options.role, sub: options.subject, iss: tokenIssuer, aud: options.audience ?? tokenIssuer, iat: now, exp: now + (options.ttlSeconds ?? 3600),
    });
  }
  return new SignJWT({ ...options.claims, role: options.role })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
    .setSubject(options.subject)
    .setIssuer(tokenIssuer)
    .setAudience(options.audience ?? tokenIssuer)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 3600))
    .sign(key.key);
}

/** A verified token's identity, with the claims it carries beyond the standard ones and `role`. */
export interface VerifiedIdentity extends Identity {
  /** Set only when the token carries such claims. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** A verified token presented as evidence (see `TokenVerifier.verifyEvidence`). */
export interface TokenEvidence extends VerifiedIdentity {
  /** Every audience the token names. */
  readonly audiences: readonly string[];
}

/** A token that failed verification as evidence; `expired` when only its expiry failed it. */
export class TokenError extends Error {
  constructor(message: string, readonly expired: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = "TokenError";
  }
}

/** The verifier of one service. */
export interface TokenVerifier {
  /**
   * Verifies the value of an `authorization` header and returns the caller.
   * Throws UNAUTHENTICATED as `createTokenVerifier` describes.
   */
  (authorization: string | null): Promise<VerifiedIdentity>;
  /**
   * Verifies a mesh token that a caller presents as evidence, not as its own
   * credential (the gateway's hop token a sub-delegation sends back as proof of its
   * chain): signature, issuer, expiry within the clock tolerance and a mesh role.
   * Its audience is returned, not checked: whom it must name is for the reader to
   * say. Never cached. Rejects with `TokenError`.
   */
  verifyEvidence(token: string): Promise<TokenEvidence>;
}

/** Options of `createTokenVerifier`. */
export interface TokenVerifierOptions {
  readonly keys: JWTVerifyGetKey;
  /**
   * The name of the service that verifies: it accepts the audiences "agentmesh"
   * and `agentAudience(self)`, and a gateway token only for the latter.
   */
  readonly self: string;
  /** Allowed clock skew; default 30 s. */
  readonly clockToleranceSeconds?: number;
  /** Verified tokens remembered until they expire, the least recently used dropped first past this many; default 10,000. */
  readonly cacheSize?: number;
  /**
   * Roles only certain keys may sign, by key id (`kid`): e.g. gateway tokens
   * only from the gateway's key, approver tokens only from the human identity
   * issuer's. A role not named here may be signed by any trusted key.
   */
  readonly roleKeys?: RoleKeys;
}

/** Key ids allowed to sign tokens of a role; see `TokenVerifierOptions.roleKeys`. */
export type RoleKeys = ReadonlyMap<Role, ReadonlySet<string>>;

/**
 * Creates the verifier of service `self`. Verified tokens are cached, keyed by the
 * whole token string, until their expiry (within the clock tolerance) so the hot
 * path does not repeat the signature check; the cache is a bounded LRU and
 * belongs to this verifier (so to one audience and one set of role keys) alone.
 *
 * Throws UNAUTHENTICATED (reasons `token_missing`, `token_expired`,
 * `token_invalid`) for anything but a valid, unexpired mesh token meant for
 * `self`; `token_invalid` too for a gateway token not bound to `self`. A token
 * with claims of its own is made for one call (the gateway's hop token) and is
 * not cached.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const cacheSize = options.cacheSize ?? 10_000;
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const cache = new Map<string, VerifiedIdentity>();
  const verifyBearer = async (authorization: string | null): Promise<VerifiedIdentity> => {
    const token = bearerToken(authorization);
    // Keyed by the whole token: a hit is a token this verifier checked byte for byte.
    const cached = cache.get(token);
    if (cached !== undefined) {
      cache.delete(token);
      if (cached.expiresAt + clockTolerance > Date.now() / 1000) {
        cache.set(token, cached); // most recently used last
        return cached;
      }
    }
    const identity = await verify(token, options.keys, options.self, clockTolerance, options.roleKeys);
    if (identity.claims !== undefined) {
      return identity;
    }
    if (cache.size >= cacheSize) {
      // Least recently used first: a burst of new callers evicts only the idlest.
      cache.delete(cache.keys().next().value!);
    }
    cache.set(token, identity);
    return identity;
  };
  return Object.assign(verifyBearer, { verifyEvidence: (token: string) => verifyEvidence(token, options.keys, clockTolerance, options.roleKeys) });
}

/**
 * The token of an `authorization` header ("Bearer <token>", any case).
 * Throws UNAUTHENTICATED (reason `token_missing`) when there is none.
 */
export function bearerToken(authorization: string | null): string {
  const m = authorization === null ? null : /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (m === null) {
    throw meshError(Code.Unauthenticated, "missing bearer token: send the header 'authorization: Bearer <token>'", {
      reason: "token_missing",
    });
  }
  return m[1]!;
}

async function verify(token: string, keys: JWTVerifyGetKey, self: string, clockTolerance: number, roleKeys: RoleKeys | undefined): Promise<VerifiedIdentity> {
  try {
    const { payload, protectedHeader } = await verifyJwt(token, keys, {
      issuer: tokenIssuer, audience: [tokenIssuer, agentAudience(self)], clockTolerance, requiredClaims: ["sub", "exp"],
    });
    if (!isRole(payload.role)) {
      throw meshError(Code.Unauthenticated, "invalid bearer token: the 'role' claim names no mesh role", { reason: "token_invalid" });
    }
    if (!keyMaySign(roleKeys, payload.role, protectedHeader.kid)) {
      throw meshError(Code.Unauthenticated, `invalid bearer token: a ${payload.role} token must be signed by a key allowed for that role`, { reason: "token_invalid" });
    }
    if (payload.role === "gateway" && !boundTo(payload, agentAudience(self))) {
      throw gatewayNotBound(self);
    }
    return verifiedIdentity(payload, payload.role);
  } catch (err) {
    // A signed gateway token for another agent fails the audience check: say why.
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === "aud" && err.payload.role === "gateway") {
      throw gatewayNotBound(self);
    }
    if (err instanceof joseErrors.JWTExpired) {
      throw meshError(Code.Unauthenticated, "expired bearer token: issue a new one", { reason: "token_expired" });
    }
    if (err instanceof joseErrors.JOSEError) {
      throw meshError(Code.Unauthenticated, `invalid bearer token: ${describeJoseError(err)}`, { reason: "token_invalid" });
    }
    throw err;
  }
}

async function verifyEvidence(token: string, keys: JWTVerifyGetKey, clockTolerance: number, roleKeys: RoleKeys | undefined): Promise<TokenEvidence> {
  let payload: JWTPayload;
  let kid: string | undefined;
  try {
    const verified = await verifyJwt(token, keys, { issuer: tokenIssuer, clockTolerance, requiredClaims: ["sub", "exp"] });
    payload = verified.payload;
    kid = verified.protectedHeader.kid;
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new TokenError("the token has expired", true, { cause: err });
    if (err instanceof joseErrors.JOSEError) throw new TokenError(describeJoseError(err), false, { cause: err });
    throw err;
  }
  if (!isRole(payload.role)) throw new TokenError("the 'role' claim names no mesh role", false);
  if (!keyMaySign(roleKeys, payload.role, kid)) throw new TokenError(`a ${payload.role} token must be signed by a key allowed for that role`, false);
  return { ...verifiedIdentity(payload, payload.role), audiences: Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud] };
}

/** True when `roleKeys` lets the key `kid` sign tokens of `role`. */
function keyMaySign(roleKeys: RoleKeys | undefined, role: Role, kid: string | undefined): boolean {
  const allowed = roleKeys?.get(role);
  return allowed === undefined || (kid !== undefined && allowed.has(kid));
}

/** Parses `{"<role>": ["<kid>", ...], ...}` (AGENTMESH_AUTH_ROLE_KEYS); throws naming what is wrong. */
export function parseRoleKeys(text: string): RoleKeys {
  const doc = JSON.parse(text) as unknown;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("role keys must be a JSON object of role -> key ids");
  const out = new Map<Role, ReadonlySet<string>>();
  for (const [role, kids] of Object.entries(doc)) {
    if (!isRole(role)) throw new Error(`role keys: "${role}" is not a mesh role`);
    if (!Array.isArray(kids) || kids.length === 0 || !kids.every((k) => typeof k === "string" && k !== "")) throw new Error(`role keys: ${role} needs a non-empty list of key ids`);
    out.set(role, new Set(kids as string[]));
  }
  return out;
}

/** Claims every mesh token has; the rest are the token's own (`VerifiedIdentity.claims`). */
const standardClaims: ReadonlySet<string> = new Set(["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "role"]);

function verifiedIdentity(payload: JWTPayload, role: Role): VerifiedIdentity {
  const identity = { subject: payload.sub!, role, expiresAt: payload.exp! };
  const own = Object.entries(payload).filter(([name]) => !standardClaims.has(name));
  return own.length === 0 ? identity : { ...identity, claims: Object.fromEntries(own) };
}

function gatewayNotBound(self: string) {
  return meshError(Code.Unauthenticated, `invalid bearer token: a gateway token must be bound to this agent (audience ${agentAudience(self)})`, {
    reason: "token_invalid",
  });
}

/** True when `audience` is the token's one and only audience. */
function boundTo(payload: JWTPayload, audience: string): boolean {
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  return aud.length === 1 && aud[0] === audience;
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

/** A fresh token for the audience it is called with. */
export type AudienceTokenSource = (audience: string) => Promise<string>;

/** Options of `createAudienceTokenSource`. */
export interface AudienceTokenSourceOptions {
  readonly subject: string;
  readonly role: Role;
  /** Lifetime of each token; default 3600 s. */
  readonly ttlSeconds?: number;
  /** Audiences whose token is kept; default 1,000 (past that, the oldest is dropped). */
  readonly maxAudiences?: number;
}

/**
 * Keeps one fresh token per audience for a service's own identity, re-issuing a
 * token when less than a tenth of its lifetime is left. The gateway uses it to
 * mint a token bound to each agent it forwards to.
 */
export function createAudienceTokenSource(key: SigningKey, options: AudienceTokenSourceOptions): AudienceTokenSource {
  const ttl = options.ttlSeconds ?? 3600;
  const maxAudiences = options.maxAudiences ?? 1_000;
  const held = new Map<string, { token: string; renewAt: number }>();
  return async (audience) => {
    const current = held.get(audience);
    if (current !== undefined && Date.now() < current.renewAt) {
      return current.token;
    }
    const token = await issueToken(key, { subject: options.subject, role: options.role, ttlSeconds: ttl, audience });
    held.delete(audience);
    if (held.size >= maxAudiences) {
      held.delete(held.keys().next().value!);
    }
    held.set(audience, { token, renewAt: Date.now() + ttl * 900 });
    return token;
  };
}

/**
 * Keeps a fresh token for a service's own identity and `options.audience`
 * (default "agentmesh"), re-issuing it when less than a tenth of its lifetime is left.
 */
export function createTokenSource(key: SigningKey, options: IssueTokenOptions): () => Promise<string> {
  const source = createAudienceTokenSource(key, { subject: options.subject, role: options.role, ttlSeconds: options.ttlSeconds, maxAudiences: 1 });
  const audience = options.audience ?? tokenIssuer;
  return () => source(audience);
}
