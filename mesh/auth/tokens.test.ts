import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { SignJWT, decodeJwt, decodeProtectedHeader } from "jose";
import type { JWTVerifyGetKey } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { errorDetailOf } from "../errors.js";
import { devKeyAlgorithm, ensureDevKeys, loadSigningKey, loadVerificationKeys } from "./keys.js";
import type { SigningKey } from "./keys.js";
import type { Role } from "./identity.js";
import { foreignSigningKey } from "../../test/support/test-keys.js";
import { TokenError, agentAudience, createAudienceTokenSource, createTokenSource, createTokenVerifier, issueToken, parseRoleKeys, tokenIssuer } from "./tokens.js";

let dir: string;
let key: SigningKey;
let keys: JWTVerifyGetKey;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "tokens-"));
  const paths = await ensureDevKeys(join(dir, "keys"));
  key = await loadSigningKey(paths.signingKeyPath);
  keys = await loadVerificationKeys(paths.jwksPath);
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

async function connectErrorOf(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error("expected a ConnectError, but the promise resolved");
}

async function expectUnauthenticated(promise: Promise<unknown>, reason: string, message: string): Promise<void> {
  const err = await connectErrorOf(promise);
  expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([Code.Unauthenticated, message, reason]);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The agent whose verifier the tests use. */
const self = "copywriter";

describe("ensureDevKeys", () => {
  it("writes an owner-only private JWK and a JWKS with the matching public key", async () => {
    const paths = await ensureDevKeys(join(dir, "fresh"));
    expect(paths).toEqual({ signingKeyPath: join(dir, "fresh", "signing-key.jwk.json"), jwksPath: join(dir, "fresh", "jwks.json") });
    expect(statSync(paths.signingKeyPath).mode & 0o777).toBe(0o600);
    const priv = JSON.parse(readFileSync(paths.signingKeyPath, "utf8")) as Record<string, unknown>;
    const jwks = JSON.parse(readFileSync(paths.jwksPath, "utf8")) as { keys: Record<string, unknown>[] };
    expect(priv).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(typeof priv.d).toBe("string");
    expect(jwks.keys).toEqual([{ kty: "EC", crv: "P-256", x: priv.x, y: priv.y, kid: priv.kid, alg: devKeyAlgorithm, use: "sig" }]);
  });

  it("keeps the existing pair on a second call: same paths, same files, same kid", async () => {
    const first = await ensureDevKeys(join(dir, "again"));
    const before = [readFileSync(first.signingKeyPath, "utf8"), readFileSync(first.jwksPath, "utf8")];
    const second = await ensureDevKeys(join(dir, "again"));
    expect(second).toEqual(first);
    expect([readFileSync(second.signingKeyPath, "utf8"), readFileSync(second.jwksPath, "utf8")]).toEqual(before);
    expect((await loadSigningKey(second.signingKeyPath)).kid).toBe((await loadSigningKey(first.signingKeyPath)).kid);
  });
});

describe("issueToken", () => {
  it("signs a JWT with the key's kid and the mesh issuer, audience, subject, role and expiry", async () => {
    const before = nowSeconds();
    const token = await issueToken(key, { subject: "copywriter", role: "worker", ttlSeconds: 120 });
    expect(decodeProtectedHeader(token)).toEqual({ alg: devKeyAlgorithm, kid: key.kid, typ: "JWT" });
    const claims = decodeJwt(token);
    expect(claims).toEqual({ role: "worker", sub: "copywriter", iss: tokenIssuer, aud: tokenIssuer, iat: claims.iat, exp: claims.iat! + 120 });
    expect(claims.iat).toBeGreaterThanOrEqual(before);
  });
});

describe("createTokenVerifier", () => {
  it("returns the caller's identity for a valid token", async () => {
    const token = await issueToken(key, { subject: "copywriter", role: "worker" });
    const verify = createTokenVerifier({ keys, self });
    expect(await verify(`Bearer ${token}`)).toEqual({ subject: "copywriter", role: "worker", expiresAt: decodeJwt(token).exp });
  });

  it.each<[string, string]>([
    ["lower case", "bearer"],
    ["upper case", "BEARER"],
  ])("accepts the scheme in %s and surrounding spaces", async (_name, scheme) => {
    const token = await issueToken(key, { subject: "cli", role: "supervisor" });
    expect(await createTokenVerifier({ keys, self })(`  ${scheme}   ${token}  `)).toEqual({ subject: "cli", role: "supervisor", expiresAt: decodeJwt(token).exp });
  });

  it.each<[string, string | null]>([
    ["no header", null],
    ["an empty header", ""],
    ["a Basic credential", "Basic dXNlcjpwYXNz"],
    ["the scheme alone", "Bearer"],
    ["the token without a scheme", "eyJhbGciOiJFZERTQSJ9.e30.sig"],
    ["two tokens", "Bearer a b"],
  ])("throws UNAUTHENTICATED token_missing for %s", async (_name, header) => {
    await expectUnauthenticated(
      createTokenVerifier({ keys, self })(header),
      "token_missing",
      "missing bearer token: send the header 'authorization: Bearer <token>'",
    );
  });

  it("throws UNAUTHENTICATED token_expired for a token past its expiry and the tolerance", async () => {
    const token = await issueToken(key, { subject: "copywriter", role: "worker", ttlSeconds: -120 });
    await expectUnauthenticated(createTokenVerifier({ keys, self })(`Bearer ${token}`), "token_expired", "expired bearer token: issue a new one");
  });

  it("accepts a just-expired token within the clock tolerance, and refuses it with no tolerance", async () => {
    const token = await issueToken(key, { subject: "copywriter", role: "worker", ttlSeconds: -5 });
    expect(await createTokenVerifier({ keys, self })(`Bearer ${token}`)).toEqual({ subject: "copywriter", role: "worker", expiresAt: decodeJwt(token).exp });
    await expectUnauthenticated(
      createTokenVerifier({ keys, self, clockToleranceSeconds: 0 })(`Bearer ${token}`),
      "token_expired",
      "expired bearer token: issue a new one",
    );
  });

  it("throws token_invalid for a token signed by another key pair", async () => {
    const other = await loadSigningKey((await ensureDevKeys(join(dir, "other"))).signingKeyPath);
    const token = await issueToken(other, { subject: "copywriter", role: "worker" });
    await expectUnauthenticated(createTokenVerifier({ keys, self })(`Bearer ${token}`), "token_invalid", "invalid bearer token: signature verification failed");
  });

  it("throws token_invalid for another key that claims this key's kid", async () => {
    const other = await loadSigningKey((await ensureDevKeys(join(dir, "other"))).signingKeyPath);
    const token = await issueToken({ ...other, kid: key.kid }, { subject: "copywriter", role: "worker" });
    await expectUnauthenticated(createTokenVerifier({ keys, self })(`Bearer ${token}`), "token_invalid", "invalid bearer token: signature verification failed");
  });

  it.each<[string, Record<string, unknown>]>([
    ["an unknown role", { role: "admin" }],
    ["a numeric role", { role: 3 }],
    ["no role", {}],
  ])("throws token_invalid for %s", async (_name, claims) => {
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .setSubject("copywriter")
      .setIssuer(tokenIssuer)
      .setAudience(tokenIssuer)
      .setExpirationTime("1h")
      .sign(key.key);
    await expectUnauthenticated(createTokenVerifier({ keys, self })(`Bearer ${token}`), "token_invalid", "invalid bearer token: the 'role' claim names no mesh role");
  });

  it.each<[string, (jwt: SignJWT) => SignJWT, string]>([
    ["another issuer", (jwt) => jwt.setIssuer("elsewhere").setAudience(tokenIssuer).setSubject("copywriter"), "iss"],
    ["another audience", (jwt) => jwt.setIssuer(tokenIssuer).setAudience("elsewhere").setSubject("copywriter"), "aud"],
    ["no subject", (jwt) => jwt.setIssuer(tokenIssuer).setAudience(tokenIssuer), "sub"],
  ])("throws token_invalid for %s, naming the claim", async (_name, shape, claim) => {
    const token = await shape(new SignJWT({ role: "worker" }).setProtectedHeader({ alg: key.alg, kid: key.kid }).setExpirationTime("1h")).sign(key.key);
    await expectUnauthenticated(createTokenVerifier({ keys, self })(`Bearer ${token}`), "token_invalid", `invalid bearer token: claim '${claim}' is not acceptable`);
  });

  it("throws token_invalid for a token with no expiry", async () => {
    const token = await new SignJWT({ role: "worker" })
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .setSubject("copywriter")
      .setIssuer(tokenIssuer)
      .setAudience(tokenIssuer)
      .sign(key.key);
    await expectUnauthenticated(createTokenVerifier({ keys, self })(`Bearer ${token}`), "token_invalid", "invalid bearer token: claim 'exp' is not acceptable");
  });

  it.each<[string, string]>([
    ["a garbage string", "not-a-jwt"],
    ["three garbage segments", "aaa.bbb.ccc"],
  ])("throws token_invalid malformed token for %s", async (_name, token) => {
    await expectUnauthenticated(createTokenVerifier({ keys, self })(`Bearer ${token}`), "token_invalid", "invalid bearer token: malformed token");
  });

  it("serves a verified token from its cache without looking its key up again", async () => {
    const token = await issueToken(key, { subject: "copywriter", role: "worker" });
    let lookups = 0;
    const counting: JWTVerifyGetKey = (header, input) => {
      lookups++;
      return keys(header, input);
    };
    const verify = createTokenVerifier({ keys: counting, self });
    const first = await verify(`Bearer ${token}`);
    const second = await verify(`Bearer ${token}`);
    expect(second).toBe(first);
    expect(lookups).toBe(1);
  });

  it("verifies again once a cached token has expired, and refuses it", async () => {
    const issuedAt = Date.now();
    const token = await issueToken(key, { subject: "copywriter", role: "worker", ttlSeconds: 60 });
    const verify = createTokenVerifier({ keys, self, clockToleranceSeconds: 0 });
    expect((await verify(`Bearer ${token}`)).subject).toBe("copywriter");
    vi.useFakeTimers({ toFake: ["Date"], now: issuedAt + 61_000 });
    await expectUnauthenticated(verify(`Bearer ${token}`), "token_expired", "expired bearer token: issue a new one");
  });
  it("drops the least recently used token when the cache is full, and keeps the ones in use", async () => {
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((subject) => issueToken(key, { subject, role: "worker" })));
    let lookups = 0;
    const counting: JWTVerifyGetKey = (header, input) => {
      lookups++;
      return keys(header, input);
    };
    const verify = createTokenVerifier({ keys: counting, self, cacheSize: 2 });
    await verify(`Bearer ${a}`);
    await verify(`Bearer ${b}`);
    await verify(`Bearer ${a}`); // a is now the most recently used
    await verify(`Bearer ${c}`); // evicts b
    expect(lookups).toBe(3);
    await verify(`Bearer ${a}`);
    await verify(`Bearer ${c}`);
    expect(lookups).toBe(3);
    await verify(`Bearer ${b}`);
    expect(lookups).toBe(4);
  });

  it("refuses a cached token once it has expired, even while it is the most recently used", async () => {
    const issuedAt = Date.now();
    const token = await issueToken(key, { subject: "copywriter", role: "worker", ttlSeconds: 60 });
    const verify = createTokenVerifier({ keys, self, clockToleranceSeconds: 5 });
    await verify(`Bearer ${token}`);
    vi.useFakeTimers({ toFake: ["Date"], now: issuedAt + 64_000 });
    expect((await verify(`Bearer ${token}`)).subject).toBe("copywriter"); // within the tolerance: still the cached identity
    vi.setSystemTime(issuedAt + 66_000);
    await expectUnauthenticated(verify(`Bearer ${token}`), "token_expired", "expired bearer token: issue a new one");
    await expectUnauthenticated(verify(`Bearer ${token}`), "token_expired", "expired bearer token: issue a new one");
  });

  it("does not serve a token that differs from a cached one in any byte", async () => {
    const token = await issueToken(key, { subject: "copywriter", role: "worker" });
    const verify = createTokenVerifier({ keys, self });
    await verify(`Bearer ${token}`);
    const [header, payload, signature] = token.split(".");
    // One character in the middle of the signature (the last one carries padding bits).
    const at = 20;
    const tampered = `${header}.${payload}.${signature!.slice(0, at)}${signature![at] === "A" ? "B" : "A"}${signature!.slice(at + 1)}`;
    await expectUnauthenticated(verify(`Bearer ${tampered}`), "token_invalid", "invalid bearer token: signature verification failed");
  });
});

describe("createTokenSource", () => {
  it("reuses its token for nine tenths of the lifetime, then issues a new one", async () => {
    const start = Date.UTC(2030, 0, 1);
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const source = createTokenSource(key, { subject: "gateway", role: "gateway", ttlSeconds: 100 });
    const first = await source();
    expect(decodeJwt(first)).toMatchObject({ sub: "gateway", role: "gateway", iat: start / 1000, exp: start / 1000 + 100 });

    vi.setSystemTime(start + 89_999);
    expect(await source()).toBe(first);

    vi.setSystemTime(start + 90_000);
    const second = await source();
    expect(second).not.toBe(first);
    expect(decodeJwt(second)).toMatchObject({ iat: start / 1000 + 90, exp: start / 1000 + 190 });
    expect(await source()).toBe(second);
  });

  it("issues tokens the verifier accepts, for the audience it was given", async () => {
    const source = createTokenSource(key, { subject: "gateway", role: "gateway", audience: agentAudience(self) });
    const token = await source();
    expect(decodeJwt(token).aud).toBe("agentmesh:copywriter");
    expect(await createTokenVerifier({ keys, self })(`Bearer ${token}`)).toEqual({ subject: "gateway", role: "gateway", expiresAt: decodeJwt(token).exp });
  });
});

describe("issueToken claims", () => {
  it("signs further claims, which cannot replace the role or a registered claim", async () => {
    const token = await issueToken(key, {
      subject: "gateway", role: "gateway", audience: agentAudience(self), ttlSeconds: 60,
      claims: { task: "t-1", chain: { v: 1, hops: [] }, role: "supervisor", sub: "mallory", aud: "agentmesh", exp: 1 },
    });
    const claims = decodeJwt(token);
    expect(claims).toEqual({ task: "t-1", chain: { v: 1, hops: [] }, role: "gateway", sub: "gateway", iss: tokenIssuer, aud: "agentmesh:copywriter", iat: claims.iat, exp: claims.iat! + 60 });
  });

  it("hands the further claims back from the verifier, and does not cache such a one-call token", async () => {
    const token = await issueToken(key, { subject: "gateway", role: "gateway", audience: agentAudience(self), claims: { task: "t-1" } });
    let lookups = 0;
    const counting: JWTVerifyGetKey = (header, input) => {
      lookups++;
      return keys(header, input);
    };
    const verify = createTokenVerifier({ keys: counting, self });
    const expected = { subject: "gateway", role: "gateway", expiresAt: decodeJwt(token).exp, claims: { task: "t-1" } };
    expect([await verify(`Bearer ${token}`), await verify(`Bearer ${token}`)]).toEqual([expected, expected]);
    expect(lookups).toBe(2);
  });
});

describe("TokenVerifier.verifyEvidence", () => {
  it("returns who a token names, all its audiences and its claims, whatever the audience", async () => {
    const token = await issueToken(key, { subject: "gateway", role: "gateway", audience: agentAudience("summarizer"), claims: { task: "t-9" } });
    expect(await createTokenVerifier({ keys, self }).verifyEvidence(token)).toEqual({
      subject: "gateway", role: "gateway", expiresAt: decodeJwt(token).exp, audiences: ["agentmesh:summarizer"], claims: { task: "t-9" },
    });
  });

  it.each<[string, () => Promise<string>, string, boolean]>([
    ["a token past its expiry and the tolerance", () => issueToken(key, { subject: "gateway", role: "gateway", ttlSeconds: -120 }), "the token has expired", true],
    ["a token signed by another key pair", async () => issueToken(await foreignSigningKey(dir), { subject: "gateway", role: "gateway" }), "signature verification failed", false],
    ["a token with no mesh role", () => new SignJWT({ role: "admin" }).setProtectedHeader({ alg: key.alg, kid: key.kid }).setSubject("x").setIssuer(tokenIssuer).setExpirationTime("1h").sign(key.key), "the 'role' claim names no mesh role", false],
    ["a token of another issuer", () => new SignJWT({ role: "gateway" }).setProtectedHeader({ alg: key.alg, kid: key.kid }).setSubject("x").setIssuer("elsewhere").setExpirationTime("1h").sign(key.key), "claim 'iss' is not acceptable", false],
    ["no token at all", () => Promise.resolve("not-a-jwt"), "malformed token", false],
  ])("rejects %s with a TokenError", async (_name, make, message, expired) => {
    const err = await createTokenVerifier({ keys, self }).verifyEvidence(await make()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect([(err as TokenError).message, (err as TokenError).expired]).toEqual([message, expired]);
  });
});

describe("issueToken audience", () => {
  it("binds a token to the audience it is given", async () => {
    const token = await issueToken(key, { subject: "gateway", role: "gateway", audience: agentAudience("summarizer") });
    expect(decodeJwt(token)).toMatchObject({ sub: "gateway", role: "gateway", iss: "agentmesh", aud: "agentmesh:summarizer" });
  });
});

describe("createTokenVerifier audiences", () => {
  const signed = (role: Role, audience: string | string[]) =>
    new SignJWT({ role }).setProtectedHeader({ alg: key.alg, kid: key.kid }).setSubject("someone").setIssuer(tokenIssuer).setAudience(audience).setExpirationTime("1h").sign(key.key);
  const gatewayNotBound = "invalid bearer token: a gateway token must be bound to this agent (audience agentmesh:copywriter)";

  it.each<[string, Role, string | string[]]>([
    ["a worker token for every mesh service", "worker", "agentmesh"],
    ["a supervisor token for this agent only", "supervisor", "agentmesh:copywriter"],
    ["a supervisor token for every service and this agent", "supervisor", ["agentmesh", "agentmesh:copywriter"]],
    ["a gateway token bound to this agent", "gateway", "agentmesh:copywriter"],
  ])("accepts %s", async (_name, role, audience) => {
    const token = await signed(role, audience);
    expect(await createTokenVerifier({ keys, self })(`Bearer ${token}`)).toEqual({ subject: "someone", role, expiresAt: decodeJwt(token).exp });
  });

  it.each<[string, Role, string | string[], string]>([
    ["a worker token for another agent", "worker", "agentmesh:summarizer", "invalid bearer token: claim 'aud' is not acceptable"],
    ["a gateway token for every mesh service", "gateway", "agentmesh", gatewayNotBound],
    ["a gateway token bound to another agent", "gateway", "agentmesh:evil", gatewayNotBound],
    ["a gateway token bound to this agent and every service", "gateway", ["agentmesh:copywriter", "agentmesh"], gatewayNotBound],
    ["a gateway token bound to this agent and another", "gateway", ["agentmesh:copywriter", "agentmesh:evil"], gatewayNotBound],
    ["a gateway token for a foreign audience", "gateway", "elsewhere", gatewayNotBound],
  ])("throws token_invalid for %s", async (_name, role, audience, message) => {
    await expectUnauthenticated(createTokenVerifier({ keys, self })(`Bearer ${await signed(role, audience)}`), "token_invalid", message);
  });

  it("refuses a gateway token that another agent's verifier accepted and cached", async () => {
    const token = await issueToken(key, { subject: "gateway", role: "gateway", audience: agentAudience("summarizer") });
    const summarizer = createTokenVerifier({ keys, self: "summarizer" });
    expect((await summarizer(`Bearer ${token}`)).role).toBe("gateway");
    expect((await summarizer(`Bearer ${token}`)).role).toBe("gateway");
    await expectUnauthenticated(createTokenVerifier({ keys, self })(`Bearer ${token}`), "token_invalid", gatewayNotBound);
  });
});

describe("createAudienceTokenSource", () => {
  it("keeps one token per audience, each bound to it, renewed after nine tenths of the lifetime", async () => {
    const start = Date.UTC(2030, 0, 1);
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const source = createAudienceTokenSource(key, { subject: "gateway", role: "gateway", ttlSeconds: 300 });
    const copywriter = await source(agentAudience("copywriter"));
    const summarizer = await source(agentAudience("summarizer"));
    expect([decodeJwt(copywriter), decodeJwt(summarizer)]).toEqual([
      { sub: "gateway", role: "gateway", iss: "agentmesh", aud: "agentmesh:copywriter", iat: start / 1000, exp: start / 1000 + 300 },
      { sub: "gateway", role: "gateway", iss: "agentmesh", aud: "agentmesh:summarizer", iat: start / 1000, exp: start / 1000 + 300 },
    ]);

    vi.setSystemTime(start + 269_999);
    expect([await source(agentAudience("copywriter")), await source(agentAudience("summarizer"))]).toEqual([copywriter, summarizer]);

    vi.setSystemTime(start + 270_000);
    const renewed = await source(agentAudience("copywriter"));
    expect(decodeJwt(renewed)).toMatchObject({ aud: "agentmesh:copywriter", iat: start / 1000 + 270 });
  });

  it("defaults the lifetime to an hour", async () => {
    const claims = decodeJwt(await createAudienceTokenSource(key, { subject: "gateway", role: "gateway" })(agentAudience("copywriter")));
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  it("holds at most maxAudiences tokens, dropping the oldest first", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.UTC(2030, 0, 1) });
    const source = createAudienceTokenSource(key, { subject: "gateway", role: "gateway", maxAudiences: 2 });
    const a = await source("agentmesh:a");
    const b = await source("agentmesh:b");
    await source("agentmesh:c");
    expect(await source("agentmesh:b")).toBe(b);
    vi.setSystemTime(Date.UTC(2030, 0, 1) + 1_000);
    expect(await source("agentmesh:a")).not.toBe(a);
  });
});

describe("createTokenVerifier role keys", () => {
  /** Two trusted key pairs in one JWKS: the gateway's and an agent's. */
  async function twoKeys() {
    const gatewayPaths = await ensureDevKeys(join(dir, "gateway-keys"));
    const agentPaths = await ensureDevKeys(join(dir, "agent-keys"));
    const jwks = { keys: [gatewayPaths, agentPaths].flatMap((p) => (JSON.parse(readFileSync(p.jwksPath, "utf8")) as { keys: unknown[] }).keys) };
    const jwksPath = join(dir, "both.jwks.json");
    writeFileSync(jwksPath, JSON.stringify(jwks));
    return { gatewayKey: await loadSigningKey(gatewayPaths.signingKeyPath), agentKey: await loadSigningKey(agentPaths.signingKeyPath), keys: await loadVerificationKeys(jwksPath) };
  }

  it("accepts a gateway token only from a key the role allows, and any trusted key for other roles", async () => {
    const { gatewayKey, agentKey, keys: both } = await twoKeys();
    const verify = createTokenVerifier({ keys: both, self, roleKeys: parseRoleKeys(JSON.stringify({ gateway: [gatewayKey.kid] })) });
    const hop = (k: SigningKey) => issueToken(k, { subject: "gateway", role: "gateway", audience: agentAudience(self) });
    await expect(verify(`Bearer ${await hop(gatewayKey)}`)).resolves.toMatchObject({ subject: "gateway", role: "gateway" });
    await expectUnauthenticated(verify(`Bearer ${await hop(agentKey)}`), "token_invalid", "invalid bearer token: a gateway token must be signed by a key allowed for that role");
    await expect(verify(`Bearer ${await issueToken(agentKey, { subject: "supervisor", role: "supervisor" })}`)).resolves.toMatchObject({ role: "supervisor" });
    await expect(verify.verifyEvidence(await hop(agentKey))).rejects.toThrow("a gateway token must be signed by a key allowed for that role");
  });

  it.each([
    ["[]", "role keys must be a JSON object of role -> key ids"],
    ['{"boss": ["k"]}', 'role keys: "boss" is not a mesh role'],
    ['{"gateway": []}', "role keys: gateway needs a non-empty list of key ids"],
  ])("refuses the setting %s", (text, message) => {
    expect(() => parseRoleKeys(text)).toThrow(message);
  });
});
