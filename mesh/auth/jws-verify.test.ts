import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from "jose";
import type { CryptoKey, JWK, JWTVerifyGetKey, JWTVerifyOptions } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { signJws } from "./jws-sign.js";
import { verifyJwt, verifyPlainJwt } from "./jws-verify.js";

interface Pair {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

let ed: Pair;
let es: Pair;
let es384: Pair;
let stranger: Pair;
let keys: JWTVerifyGetKey;

async function pair(alg: string, kid: string): Promise<{ pair: Pair; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { pair: { alg, kid, privateKey }, jwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

beforeAll(async () => {
  const made = await Promise.all([pair("EdDSA", "ed"), pair("ES256", "es"), pair("ES384", "es384")]);
  [ed, es, es384] = made.map((m) => m.pair) as [Pair, Pair, Pair];
  stranger = (await pair("EdDSA", "ed")).pair; // claims the trusted key's kid
  keys = createLocalJWKSet({ keys: made.map((m) => m.jwk) });
});

const now = () => Math.floor(Date.now() / 1000);
const options: JWTVerifyOptions = { issuer: "agentmesh", audience: ["agentmesh", "agentmesh:copywriter"], clockTolerance: 30, requiredClaims: ["sub", "exp"] };

/** A token signed by `p` with `header` extras and `claims` over a valid default set. */
function token(p: Pair, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ role: "gateway", sub: "gateway", iss: "agentmesh", aud: "agentmesh:copywriter", iat: now(), exp: now() + 60, ...claims })
    .setProtectedHeader({ alg: p.alg, kid: p.kid, typ: "JWT", ...header }).sign(p.privateKey);
}

/** A valid token under a header jose would not sign (signed with node:crypto). */
function rawToken(p: Pair, header: Record<string, unknown>): Promise<string> {
  return Promise.resolve(signJws({ kid: p.kid, alg: p.alg, key: p.privateKey }, { alg: p.alg, kid: p.kid, ...header }, { sub: "s", iss: "agentmesh", aud: "agentmesh", exp: now() + 60 }));
}

/** What a verification came to: the payload, or the jose error's name, code and claim. */
async function outcome(run: Promise<{ payload: unknown }>): Promise<unknown> {
  try {
    return { payload: (await run).payload };
  } catch (err) {
    const e = err as { name: string; code?: string; claim?: string };
    return { error: e.name, code: e.code, claim: e.claim };
  }
}

function tamper(part: number, jwt: string): string {
  const parts = jwt.split(".");
  const p = parts[part]!;
  parts[part] = `${p.slice(0, 10)}${p[10] === "A" ? "B" : "A"}${p.slice(11)}`;
  return parts.join(".");
}

describe("verifyJwt", () => {
  it.each<[string, () => Promise<string>]>([
    ["a valid EdDSA token", () => token(ed)],
    ["a valid ES256 token", () => token(es)],
    ["a valid ES384 token", () => token(es384)],
    ["a token without typ", () => new SignJWT({ sub: "s", iss: "agentmesh", aud: "agentmesh", exp: now() + 60 }).setProtectedHeader({ alg: "EdDSA", kid: "ed" }).sign(ed.privateKey)],
    ["an expired token", () => token(ed, { exp: now() - 31 })],
    ["a token expired within the tolerance", () => token(ed, { exp: now() - 10 })],
    ["a token not valid before a time to come", () => token(es, { nbf: now() + 120 })],
    ["a token for another audience", () => token(ed, { aud: "agentmesh:summarizer" })],
    ["a token from another issuer", () => token(es, { iss: "elsewhere" })],
    ["a token without a subject", () => token(ed, { sub: undefined })],
    ["a token without an expiry", () => token(ed, { exp: undefined })],
    ["a token with a changed signature", async () => tamper(2, await token(ed))],
    ["an ES256 token with a changed signature", async () => tamper(2, await token(es))],
    ["a token with a changed payload", async () => tamper(1, await token(es))],
    ["a token signed by a key that claims a trusted kid", () => token(stranger)],
    ["a token whose kid names no trusted key", () => token({ ...ed, kid: "nobody" })],
    ["an ES256 header over the ES384 key's kid", () => new SignJWT({ sub: "s", iss: "agentmesh", aud: "agentmesh", exp: now() + 60 }).setProtectedHeader({ alg: "ES256", kid: "es384" }).sign(es.privateKey)],
    ["a header with crit", () => rawToken(ed, { crit: ["exp"] })],
    ["a header with b64 false", () => rawToken(ed, { b64: false, crit: ["b64"] })],
    ["a malformed token", () => Promise.resolve("aaa.bbb.ccc")],
    ["two parts", () => Promise.resolve("eyJhbGciOiJFZERTQSJ9.e30")],
  ])("comes to what jwtVerify does for %s", async (_name, make) => {
    const jwt = await make();
    expect(await outcome(verifyJwt(jwt, keys, options))).toEqual(await outcome(jwtVerify(jwt, keys, options)));
  });

  it("verifies a plain EdDSA or ES256 token itself, and leaves any other to jose", async () => {
    await expect(verifyPlainJwt(await token(ed), keys, options)).resolves.toMatchObject({ payload: { sub: "gateway" }, protectedHeader: { alg: "EdDSA", kid: "ed", typ: "JWT" } });
    await expect(verifyPlainJwt(await token(es), keys, options)).resolves.toMatchObject({ payload: { sub: "gateway" } });
    await expect(verifyPlainJwt(await token(ed, {}, { cty: "x" }), keys, options)).resolves.toBeUndefined();
    await expect(verifyPlainJwt("aaa.bbb.ccc", keys, options)).resolves.toBeUndefined();
  });
});
