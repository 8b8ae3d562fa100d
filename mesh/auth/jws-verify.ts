/**
 * JWT verification with the signature checked by node:crypto and the claims by
 * jose: `verifyJwt` is `jose.jwtVerify` for the tokens the mesh issues, at about
 * half the CPU (jose verifies through WebCrypto, an asynchronous job per token;
 * an agent verifies the gateway's hop token on every forwarded Delegate).
 *
 * Only a plain token takes this path: three base64url parts, a protected header
 * of nothing but `alg` (one of jws-algorithms.ts), `kid` and `typ`, and a key
 * from `keys` that is a public key of that algorithm (curve included). The
 * signature is verified over the exact bytes received; then the payload goes
 * through jose's own claim validation (`UnsecuredJWT.decode` with the same
 * options: issuer, audience, expiry with the clock tolerance, not-before,
 * required claims), so the same claims fail with the same jose errors. Anything
 * else goes to `jwtVerify` itself.
 */
import { verify } from "node:crypto";
import { UnsecuredJWT, errors as joseErrors, jwtVerify } from "jose";
import type { JWTHeaderParameters, JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from "jose";
import { cryptoKeyInput, jwsAlgorithms, jwsKeyObject } from "./jws-algorithms.js";

const base64urlPart = /^[A-Za-z0-9_-]+$/;
const plainHeaderMembers: ReadonlySet<string> = new Set(["alg", "kid", "typ"]);
/** `{"alg":"none"}`, the header `UnsecuredJWT.decode` takes. */
const noneHeader = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");

/** Verifies `token` like `jwtVerify(token, keys, options)`; rejects with the same jose errors. */
export async function verifyJwt(token: string, keys: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<{ payload: JWTPayload; protectedHeader: JWTHeaderParameters }> {
  return (await verifyPlainJwt(token, keys, options)) ?? jwtVerify(token, keys, options);
}

/**
 * Verifies a plain token (see the module comment) with node:crypto and jose's
 * claim validation; resolves undefined, having checked nothing, for any other.
 */
export async function verifyPlainJwt(token: string, keys: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<{ payload: JWTPayload; protectedHeader: JWTHeaderParameters } | undefined> {
  const parts = token.split(".");
  const header = parts.length === 3 && parts.every((p) => base64urlPart.test(p)) ? plainHeader(parts[0]!) : undefined;
  const alg = header === undefined ? undefined : jwsAlgorithms[header.alg];
  if (header === undefined || alg === undefined) return undefined;
  const [protectedPart, payloadPart, signaturePart] = parts as [string, string, string];
  const key = await keys(header, { payload: payloadPart, protected: protectedPart, signature: signaturePart });
  const keyObject = jwsKeyObject(key, alg, "public");
  if (keyObject === undefined) return undefined;
  let valid: boolean;
  try {
    valid = verify(alg.digest, Buffer.from(`${protectedPart}.${payloadPart}`), cryptoKeyInput(keyObject, alg), Buffer.from(signaturePart, "base64url"));
  } catch {
    valid = false;
  }
  if (!valid) throw new joseErrors.JWSSignatureVerificationFailed();
  const { payload } = UnsecuredJWT.decode(`${noneHeader}.${payloadPart}.`, options);
  return { payload, protectedHeader: header };
}

/** The header of a plain token (see the module comment), or undefined. */
function plainHeader(part: string): (JWTHeaderParameters & { alg: string }) | undefined {
  try {
    const header = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as unknown;
    if (typeof header !== "object" || header === null || Array.isArray(header)) return undefined;
    if (!Object.keys(header).every((k) => plainHeaderMembers.has(k))) return undefined;
    const { alg, kid, typ } = header as Record<string, unknown>;
    if (typeof alg !== "string" || (kid !== undefined && typeof kid !== "string") || (typ !== undefined && typeof typ !== "string")) return undefined;
    return header as JWTHeaderParameters & { alg: string };
  } catch {
    return undefined;
  }
}
