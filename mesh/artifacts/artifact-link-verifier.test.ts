/**
 * Signed artifact links: jose signs them, the synchronous verifier accepts
 * exactly what jose accepts for the mesh's keys (ES256 development and deploy
 * keys, EdDSA keys made before those were ES256), and refuses altered, foreign, expired and confused
 * tokens with the reason the endpoint answers.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT, exportJWK, generateKeyPair, jwtVerify } from "jose";
import type { JsonWebKey } from "node:crypto";
import { createTestKeys, foreignSigningKey } from "../../test/support/test-keys.js";
import type { TestKeys } from "../../test/support/test-keys.js";
import { issueToken, tokenIssuer } from "../auth/tokens.js";
import { devKeyAlgorithm } from "../auth/keys.js";
import type { SigningKey } from "../auth/keys.js";
import { ArtifactLinkError } from "./artifact-link-error.js";
import { artifactLinkAudience, artifactLinkType, artifactLinkUri, signArtifactLink } from "./artifact-link.js";
import type { ArtifactLinkClaims } from "./artifact-link.js";
import { createArtifactLinkVerifier } from "./artifact-link-verifier.js";
import type { ArtifactLinkVerifier } from "./artifact-link-verifier.js";

const now = Date.UTC(2026, 10, 25, 12, 0, 0);
const claims: ArtifactLinkClaims = {
  artifactId: "a1B2_c3-d4", digest: `sha256:${"ab".repeat(32)}`, size: 1234, mediaType: "text/plain", taskId: "task-1", uploader: "alice", expiresAt: now / 1000 + 600,
};

let keys: TestKeys;
let verifier: ArtifactLinkVerifier;

beforeAll(async () => {
  keys = await createTestKeys("agentmesh-links-");
  verifier = createArtifactLinkVerifier({ keys: jwks(keys.paths.jwksPath) });
});
afterAll(() => keys.remove());

function jwks(path: string): JsonWebKey[] {
  return (JSON.parse(readFileSync(path, "utf8")) as { keys: JsonWebKey[] }).keys;
}

/** The error `fn` throws. */
function refusal(fn: () => unknown): ArtifactLinkError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ArtifactLinkError) return err;
    throw err;
  }
  throw new Error("it returned, but it should have thrown");
}

/** `jws` with its payload replaced by `change(payload)`, the signature kept. */
function withPayload(jws: string, change: (payload: Record<string, unknown>) => void): string {
  const [h, p, s] = jws.split(".") as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
  change(payload);
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`;
}

describe("signArtifactLink and createArtifactLinkVerifier", () => {
  /** A link signed for `claims` with the mesh's key. */
  let jws0: string;
  beforeAll(async () => {
    jws0 = await signArtifactLink(keys.key, claims);
  });

  it("signs a JWT jose verifies, and the verifier returns the claims it was signed with", async () => {
    const jws = await signArtifactLink(keys.key, claims);
    const { payload, protectedHeader } = await jwtVerify(jws, keys.keys, { audience: artifactLinkAudience, issuer: "agentmesh", currentDate: new Date(now), typ: artifactLinkType });
    expect(protectedHeader).toEqual({ alg: devKeyAlgorithm, kid: keys.key.kid, typ: "agentmesh-artifact+jwt" });
    expect(payload).toEqual({
      iss: "agentmesh", aud: "agentmesh:artifacts", sub: "alice", art: "a1B2_c3-d4", dig: claims.digest, size: 1234, mt: "text/plain", task: "task-1",
      iat: expect.any(Number) as number, exp: claims.expiresAt,
    });
    expect(verifier.verify(jws, now)).toEqual(claims);
  });

  it("verifies links signed with an EdDSA key (the development and deploy keys' algorithm before ES256)", async () => {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const es: SigningKey = { kid: "older-1", alg: "EdDSA", key: privateKey };
    const esVerifier = createArtifactLinkVerifier({ keys: [{ ...(await exportJWK(publicKey)), kid: "older-1", alg: "EdDSA" }] });
    const jws = await signArtifactLink(es, claims);
    expect(esVerifier.verify(jws, now)).toEqual(claims);
    expect(refusal(() => esVerifier.verify(withPayload(jws, (p) => { p.task = "task-2"; }), now)).message).toBe("not a link signed by the mesh: signature verification failed");
  });

  it.each([
    ["an altered size", (p: Record<string, unknown>) => { p.size = 1; }],
    ["an altered task", (p: Record<string, unknown>) => { p.task = "task-2"; }],
    ["an altered expiry", (p: Record<string, unknown>) => { p.exp = (p.exp as number) + 3600; }],
  ])("refuses %s as link_invalid", (_name, change) => {
    const err = refusal(() => verifier.verify(withPayload(jws0, change), now));
    expect([err.reason, err.message, err.nonRetryable]).toEqual(["link_invalid", "not a link signed by the mesh: signature verification failed", true]);
  });

  it("refuses a link signed by a key the mesh does not trust", async () => {
    const foreign = await signArtifactLink(await foreignSigningKey(keys.dir), claims);
    expect(refusal(() => verifier.verify(foreign, now)).message).toBe("not a link signed by the mesh: no trusted key signed it");
  });

  it("refuses a link past its expiry (5 s tolerance) as link_expired", () => {
    expect(verifier.verify(jws0, (claims.expiresAt + 5) * 1000)).toEqual(claims);
    const err = refusal(() => verifier.verify(jws0, (claims.expiresAt + 6) * 1000));
    expect([err.reason, err.message]).toEqual(["link_expired", "the link expired at 2026-11-25T12:10:00.000Z: ask the task's owner for a new one"]);
  });

  it("refuses a mesh bearer token as a link", async () => {
    const bearer = await issueToken(keys.key, { subject: "alice", role: "supervisor" });
    expect(refusal(() => verifier.verify(bearer, now)).message).toBe("not a link signed by the mesh: its type is not agentmesh-artifact+jwt");
  });

  it("refuses a link whose key may not sign for the gateway (AGENTMESH_AUTH_ROLE_KEYS)", () => {
    const pinned = createArtifactLinkVerifier({ keys: jwks(keys.paths.jwksPath), roleKeys: new Map([["gateway", new Set(["other-kid"])]]) });
    expect(refusal(() => pinned.verify(jws0, now)).message).toBe("not a link signed by the mesh: its key may not sign for the gateway");
  });

  it.each([
    ["a link whose path names another artifact", (jws: string) => artifactLinkUri("http://gw:7072", "other", jws), "link_invalid", "not a link signed by the mesh: the artifact id in its path is not the one it was signed for"],
    ["a URI without its link", () => "http://gw:7072/v1/artifacts/a1B2_c3-d4", "link_missing", "the link parameter is missing: fetch the uri of the artifact's reference as it is"],
    ["a URI of something else", () => "file:///tmp/leads.csv", "link_invalid", "not an artifact link: expected <gateway>/v1/artifacts/<id>?link=<signed link>"],
    ["a link that is not a JWS", () => "http://gw:7072/v1/artifacts/a1B2_c3-d4?link=abc", "link_invalid", "not a link signed by the mesh: not a compact JWS"],
  ])("verifyUri refuses %s", (_name, uri, reason, message) => {
    const err = refusal(() => verifier.verifyUri(uri(jws0), now));
    expect([err.reason, err.message]).toEqual([reason, message]);
  });

  /** A link for `claims` signed with the mesh's key, issued at `iat`, with `iss` and `aud` as given. */
  const signedWith = (o: { iss?: string; aud?: string; iat?: number; exp?: number }) =>
    new SignJWT({ art: claims.artifactId, dig: claims.digest, size: claims.size, mt: claims.mediaType, task: claims.taskId, ...(o.iat === undefined ? {} : { iat: o.iat }) })
      .setProtectedHeader({ alg: keys.key.alg, kid: keys.key.kid, typ: artifactLinkType })
      .setIssuer(o.iss ?? tokenIssuer)
      .setAudience(o.aud ?? artifactLinkAudience)
      .setSubject(claims.uploader)
      .setExpirationTime(o.exp ?? claims.expiresAt)
      .sign(keys.key.key);

  it("accepts a link it would sign itself, and refuses one from another issuer or for another audience", async () => {
    expect(verifier.verify(await signedWith({ iat: now / 1000 }), now)).toEqual(claims);
    for (const o of [{ iss: "someone-else" }, { aud: tokenIssuer }, { aud: "agentmesh:other" }]) {
      const signed = await signedWith({ ...o, iat: now / 1000 });
      expect(refusal(() => verifier.verify(signed, now)).message).toBe("not a link signed by the mesh: it was not issued by the mesh for artifacts");
    }
  });

  it("refuses a link without an issue time, or one that lives longer than 7 days (or the configured maximum)", async () => {
    const iat = now / 1000;
    const [noIat, week, longer, ten, tenAndOne] = await Promise.all([
      signedWith({}), signedWith({ iat, exp: iat + 7 * 86_400 }), signedWith({ iat, exp: iat + 7 * 86_400 + 1 }), signedWith({ iat, exp: iat + 600 }), signedWith({ iat, exp: iat + 601 }),
    ]);
    expect(refusal(() => verifier.verify(noIat, now)).message).toBe("not a link signed by the mesh: claim 'iat' is missing");
    expect(verifier.verify(week, now).expiresAt).toBe(iat + 7 * 86_400);
    expect(refusal(() => verifier.verify(longer, now)).message).toBe("not a link signed by the mesh: its lifetime (604801 s) is longer than the 604800 s a link may live");
    const short = createArtifactLinkVerifier({ keys: jwks(keys.paths.jwksPath), maxLifetimeSeconds: 600 });
    expect(short.verify(ten, now).expiresAt).toBe(iat + 600);
    expect(refusal(() => short.verify(tenAndOne, now)).message).toBe("not a link signed by the mesh: its lifetime (601 s) is longer than the 600 s a link may live");
  });

  it("verifyUri accepts the link URI it was signed for, whatever the host", () => {
    expect(verifier.verifyUri(artifactLinkUri("https://artifacts.example:8443/", claims.artifactId, jws0), now)).toEqual(claims);
  });
});
