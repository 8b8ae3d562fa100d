/**
 * Compact JWS signing with node:crypto, for the algorithms in
 * jws-algorithms.ts: the same token jose's `SignJWT` makes (header and payload
 * as base64url JSON, the signature in JWS form: raw r||s for ECDSA), at about
 * half its CPU. jose signs through WebCrypto, an asynchronous job per token; the
 * gateway signs one hop token per forwarded Delegate, so this is on the hot path.
 */
import { sign } from "node:crypto";
import { cryptoKeyInput, jwsAlgorithms, jwsKeyObject } from "./jws-algorithms.js";
import type { SigningKey } from "./keys.js";

/** True when `signJws` can sign with `key`: a private key of an algorithm in jws-algorithms.ts. */
export function canSignJws(key: SigningKey): boolean {
  const alg = jwsAlgorithms[key.alg];
  return alg !== undefined && jwsKeyObject(key.key, alg, "private") !== undefined;
}

/**
 * Signs `payload` under the protected header `header` (which must name
 * `key.alg`) and returns the compact JWS. Throws when `canSignJws(key)` is false.
 */
export function signJws(key: SigningKey, header: Readonly<Record<string, unknown>>, payload: Readonly<Record<string, unknown>>): string {
  const alg = jwsAlgorithms[key.alg];
  const keyObject = alg === undefined ? undefined : jwsKeyObject(key.key, alg, "private");
  if (alg === undefined || keyObject === undefined || header.alg !== key.alg) throw new Error(`cannot sign ${key.alg} tokens with node:crypto`);
  const input = `${base64url(header)}.${base64url(payload)}`;
  return `${input}.${sign(alg.digest, Buffer.from(input), cryptoKeyInput(keyObject, alg)).toString("base64url")}`;
}

function base64url(value: Readonly<Record<string, unknown>>): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
