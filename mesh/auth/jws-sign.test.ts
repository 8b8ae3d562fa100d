import { SignJWT, compactVerify, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify } from "jose";
import type { CryptoKey } from "jose";
import { describe, expect, it } from "vitest";
import { canSignJws, signJws } from "./jws-sign.js";
import type { SigningKey } from "./keys.js";
import { issueToken, tokenIssuer } from "./tokens.js";

/** A fresh key pair of `alg` as a mesh signing key and its public key. */
async function pair(alg: string): Promise<{ key: SigningKey; publicKey: CryptoKey }> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { key: { kid: `k-${alg}`, alg, key: privateKey }, publicKey };
}

describe("signJws", () => {
  it.each(["EdDSA", "ES256", "ES384", "ES512"])("signs a %s JWS that jose verifies, header and payload as given", async (alg) => {
    const { key, publicKey } = await pair(alg);
    const header = { alg, kid: key.kid, typ: "JWT" };
    const payload = { sub: "gateway", role: "gateway", chain: { v: 1, hops: [] }, exp: 4_102_444_800 };
    const token = signJws(key, header, payload);
    const verified = await compactVerify(token, publicKey);
    expect(verified.protectedHeader).toEqual(header);
    expect(JSON.parse(Buffer.from(verified.payload).toString("utf8"))).toEqual(payload);
  });

  it("refuses a header that names another algorithm than the key's", async () => {
    const { key } = await pair("EdDSA");
    expect(() => signJws(key, { alg: "ES256" }, {})).toThrow("cannot sign EdDSA tokens with node:crypto");
  });

  it.each<[string, SigningKey, boolean]>([
    ["an HMAC secret", { kid: "h", alg: "HS256", key: new Uint8Array(32) }, false],
  ])("cannot sign with %s", (_name, key, can) => {
    expect(canSignJws(key)).toBe(can);
  });
});

describe("issueToken through node:crypto", () => {
  it.each(["EdDSA", "ES256"])("makes the %s token jose's SignJWT makes, which jwtVerify accepts", async (alg) => {
    const { key, publicKey } = await pair(alg);
    expect(canSignJws(key)).toBe(true);
    const options = { subject: "gateway", role: "gateway" as const, audience: "agentmesh:copywriter", ttlSeconds: 90, claims: { task: "t-1", role: "supervisor", sub: "mallory", exp: 1 } };
    const ours = await issueToken(key, options);
    const now = decodeJwt(ours).iat!;
    const theirs = await new SignJWT({ ...options.claims, role: options.role }).setProtectedHeader({ alg, kid: key.kid, typ: "JWT" })
      .setSubject(options.subject).setIssuer(tokenIssuer).setAudience(options.audience).setIssuedAt(now).setExpirationTime(now + 90).sign(key.key);
    expect([decodeProtectedHeader(ours), decodeJwt(ours)]).toEqual([decodeProtectedHeader(theirs), decodeJwt(theirs)]);
    expect(decodeJwt(ours)).toEqual({ task: "t-1", role: "gateway", sub: "gateway", iss: tokenIssuer, aud: "agentmesh:copywriter", iat: now, exp: now + 90 });
    await expect(jwtVerify(ours, publicKey, { issuer: tokenIssuer, audience: "agentmesh:copywriter" })).resolves.toMatchObject({ payload: { sub: "gateway" } });
  });

  it("signs with jose a key node:crypto does not sign with", async () => {
    const secret = new Uint8Array(32).fill(7);
    const token = await issueToken({ kid: "h", alg: "HS256", key: secret }, { subject: "s", role: "worker" });
    await expect(jwtVerify(token, secret, { issuer: tokenIssuer })).resolves.toMatchObject({ payload: { sub: "s", role: "worker" }, protectedHeader: { alg: "HS256", kid: "h" } });
  });
});
