/**
 * The artifact endpoint's own refusals and limits, against a stand-in store and
 * access rules (test/artifacts.test.ts runs it end to end on both backends): the
 * stored digest must be the linked one, a full store answers 507, uploads and
 * fetches in progress are capped with 429, and slow headers are cut off.
 */
import { readFileSync } from "node:fs";
import type { JsonWebKey } from "node:crypto";
import { connect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestKeys } from "../test/support/test-keys.js";
import type { TestKeys } from "../test/support/test-keys.js";
import { artifactLinkUri, createArtifactLinkVerifier, createTokenVerifier, issueToken, signArtifactLink } from "../mesh/index.js";
import type { ArtifactAccess, Logger } from "../mesh/index.js";
import { QueueStoreFullError } from "../mesh/queue/nats/nats-storage.js";
import type { ArtifactInfo, ArtifactStore } from "../mesh/queue/queue-types.js";
import { startArtifactHttp } from "./artifact-http.js";
import type { ArtifactHttpOptions, RunningArtifactHttp } from "./artifact-http.js";
import { linkSignersWarning, startArtifactEndpoint } from "./artifact-endpoint.js";
import { readGatewayConfig } from "./config.js";

const digestA = `sha256:${"a".repeat(64)}`;
const digestB = `sha256:${"b".repeat(64)}`;
const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Any caller is `Bearer <subject>`, allowed everywhere: the rules are artifact-access.test.ts's. */
const allowAll: ArtifactAccess = {
  authenticate: (header) => Promise.resolve({ identity: { subject: (header("authorization") ?? "").replace("Bearer ", ""), role: "supervisor", scopes: [] } as never, chainTasks: new Set<string>() }),
  assertMayUpload: () => Promise.resolve(),
  assertMayFetch: () => Promise.resolve(),
};

/** A gate that `open` releases. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** A store whose `put` and `get` do what the test sets; it counts the calls in progress. */
class StandInStore implements ArtifactStore {
  putting = 0;
  getting = 0;
  onPut: (data: Uint8Array | AsyncIterable<Uint8Array>) => Promise<ArtifactInfo> = () => Promise.resolve(info(digestA));
  onGet: () => Promise<{ info: ArtifactInfo; data: Uint8Array } | undefined> = () => Promise.resolve(undefined);
  async put(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<ArtifactInfo> {
    this.putting++;
    try {
      return await this.onPut(data);
    } finally {
      this.putting--;
    }
  }
  info(): Promise<ArtifactInfo | undefined> {
    return Promise.resolve(undefined);
  }
  async get(): Promise<{ info: ArtifactInfo; data: Uint8Array } | undefined> {
    this.getting++;
    try {
      return await this.onGet();
    } finally {
      this.getting--;
    }
  }
  delete(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const info = (digest: string): ArtifactInfo => ({ id: "art1", digest, size: 5, mediaType: "text/plain", createdAt: 0 });

/** Resolves once `check` holds, polling. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

let keys: TestKeys;
let jwks: JsonWebKey[];
let store: StandInStore;
let http: RunningArtifactHttp | undefined;

beforeAll(async () => {
  keys = await createTestKeys("agentmesh-artifact-http-");
  jwks = (JSON.parse(readFileSync(keys.paths.jwksPath, "utf8")) as { keys: JsonWebKey[] }).keys;
});
afterAll(() => keys.remove());
afterEach(async () => {
  await http?.close();
  http = undefined;
});

async function start(options: Partial<ArtifactHttpOptions> = {}): Promise<RunningArtifactHttp> {
  store = new StandInStore();
  http = await startArtifactHttp({
    address: "127.0.0.1:0", publicUrl: undefined, advertiseHost: "127.0.0.1", store, signingKey: keys.key,
    links: createArtifactLinkVerifier({ keys: jwks }), access: allowAll, maxBytes: 1024, linkTtlSeconds: 60, logger: quiet, ...options,
  });
  return http;
}

async function put(url: string, subject: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}/v1/artifacts?task_id=t1`, { method: "PUT", body: "hello", headers: { authorization: `Bearer ${subject}`, "content-type": "text/plain" } });
  return { status: res.status, json: await res.json() };
}

async function get(uri: string): Promise<{ status: number; body: string }> {
  const res = await fetch(uri, { headers: { authorization: "Bearer alice" } });
  return { status: res.status, body: await res.text() };
}

/** A link to artifact `art1` that names `digest`. */
const linkTo = async (url: string, digest: string) =>
  artifactLinkUri(url, "art1", await signArtifactLink(keys.key, { artifactId: "art1", digest, size: 5, mediaType: "text/plain", taskId: "t1", uploader: "alice", expiresAt: Math.floor(Date.now() / 1000) + 60 }));

describe("the artifact endpoint", () => {
  it("serves the stored bytes only when their digest is the one the link names", async () => {
    const { url } = await start();
    store.onGet = () => Promise.resolve({ info: info(digestA), data: new TextEncoder().encode("hello") });
    expect(await get(await linkTo(url, digestA))).toEqual({ status: 200, body: "hello" });
    const other = await get(await linkTo(url, digestB));
    expect(other.status).toBe(404);
    expect(JSON.parse(other.body)).toEqual({ error: { reason: "artifact_not_found", message: "artifact art1 is no longer stored" } });
  });

  it("answers 507 artifact_store_full when the store refuses the upload for want of space", async () => {
    const { url } = await start();
    store.onPut = () => Promise.reject(new QueueStoreFullError("the artifact store", "AGENTMESH_ARTIFACT_STORE_MAX_BYTES", 4096, new Error("maximum bytes exceeded")));
    expect(await put(url, "alice")).toEqual({
      status: 507,
      json: { error: { reason: "artifact_store_full", message: "the artifact store is full: AGENTMESH_ARTIFACT_STORE_MAX_BYTES=4096 bytes reached, writes are refused until older entries expire or are deleted (or the limit is raised)" } },
    });
  });

  it("caps the uploads in progress per caller and overall with 429, and takes more once they end", async () => {
    const { url } = await start({ maxUploadsPerCaller: 2, maxUploads: 3 });
    const held = gate();
    store.onPut = async () => {
      await held.wait;
      return info(digestA);
    };
    const first = [put(url, "alice"), put(url, "alice")];
    await until(() => store.putting === 2);
    expect(await put(url, "alice")).toMatchObject({ status: 429, json: { error: { reason: "too_many_uploads", message: "alice has 2 uploads in progress, the most one caller may have (AGENTMESH_ARTIFACT_MAX_UPLOADS_PER_CALLER): retry when one ends" } } });
    const bobs = put(url, "bob");
    await until(() => store.putting === 3);
    expect(await put(url, "carol")).toMatchObject({ status: 429, json: { error: { reason: "too_many_uploads", message: "the gateway has 3 uploads in progress, the most it takes (AGENTMESH_ARTIFACT_MAX_UPLOADS): retry later" } } });
    held.open();
    expect((await Promise.all([...first, bobs])).map((r) => r.status)).toEqual([201, 201, 201]);
    store.onPut = () => Promise.resolve(info(digestA));
    expect((await Promise.all([put(url, "alice"), put(url, "carol")])).map((r) => r.status)).toEqual([201, 201]);
  });

  it("caps the fetches being answered with 429 too_many_reads", async () => {
    const { url } = await start({ maxReads: 1 });
    const held = gate();
    store.onGet = async () => {
      await held.wait;
      return { info: info(digestA), data: new TextEncoder().encode("hello") };
    };
    const uri = await linkTo(url, digestA);
    const first = get(uri);
    await until(() => store.getting === 1);
    const second = await get(uri);
    expect([second.status, (JSON.parse(second.body) as { error: { reason: string } }).error.reason]).toEqual([429, "too_many_reads"]);
    held.open();
    expect(await first).toEqual({ status: 200, body: "hello" });
    expect(await get(uri)).toEqual({ status: 200, body: "hello" });
  });

  /** What the endpoint answers on a raw connection that sends `text` and then nothing; and how long it took. */
  async function stalled(port: number, text: string): Promise<{ answer: string; ms: number }> {
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => socket.write(text));
      let got = "";
      socket.on("data", (d: Buffer) => (got += d.toString()));
      socket.on("close", () => resolve(got));
      socket.on("error", reject);
    });
    return { answer, ms: Date.now() - started };
  }

  it("cuts off a request whose headers do not arrive in time (408), well before the request timeout", async () => {
    const { port } = await start({ headersTimeoutMs: 300, requestTimeoutMs: 60_000 });
    const { answer, ms } = await stalled(port, "PUT /v1/artifacts?task_id=t1 HTTP/1.1\r\nHost: x\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeLessThan(5000);
  });

  it("cuts off an upload whose body does not arrive in time", async () => {
    const { port } = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    store.onPut = async (data) => {
      for await (const _chunk of data as AsyncIterable<Uint8Array>) { /* reads until the body ends or the connection is cut */ }
      return info(digestA);
    };
    const { answer, ms } = await stalled(port, "PUT /v1/artifacts?task_id=t1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nhello");
    expect(answer).not.toMatch(/^HTTP\/1\.1 201/);
    expect(ms).toBeLessThan(5000);
  });
});

describe("linkSignersWarning", () => {
  it("warns when several trusted keys may sign links and none is pinned to the gateway, and only then", async () => {
    const other = await createTestKeys("agentmesh-artifact-http-other-");
    try {
      const two = [...jwks, ...(JSON.parse(readFileSync(other.paths.jwksPath, "utf8")) as { keys: JsonWebKey[] }).keys];
      const kids = two.map((k) => (k as { kid: string }).kid);
      expect(linkSignersWarning(createArtifactLinkVerifier({ keys: two }))).toBe(
        `any of the 2 keys of AGENTMESH_AUTH_JWKS (${kids.join(", ")}) can sign artifact links this gateway accepts, an agent's too: name the key ids of the gateway in AGENTMESH_AUTH_ROLE_KEYS ({"gateway": ["<kid>"]})`,
      );
      expect(linkSignersWarning(createArtifactLinkVerifier({ keys: jwks }))).toBeUndefined();
      expect(linkSignersWarning(createArtifactLinkVerifier({ keys: two, roleKeys: new Map([["gateway", new Set([kids[0]!])]]) }))).toBeUndefined();

      // The gateway's wiring logs it at start, and hands the endpoint the configured limits.
      const warnings: string[] = [];
      const endpoint = await startArtifactEndpoint({
        config: readGatewayConfig({ AGENTMESH_ARTIFACTS_ADDRESS: "127.0.0.1:0", AGENTMESH_ARTIFACT_MAX_UPLOADS_PER_CALLER: "1" }),
        store: Object.assign(new StandInStore(), { onPut: () => new Promise<never>(() => undefined) }),
        kv: { get: () => Promise.resolve(undefined), create: () => Promise.resolve(1) } as never,
        signingKey: keys.key, verifier: createTokenVerifier({ keys: keys.keys, self: "gateway" }), links: createArtifactLinkVerifier({ keys: two }),
        taskOwner: () => undefined, isAgent: () => false, logger: { ...quiet, warn: (m) => warnings.push(m) },
      });
      try {
        expect(warnings).toEqual([`artifact links: ${linkSignersWarning(createArtifactLinkVerifier({ keys: two }))!}`]);
        const token = await issueToken(keys.key, { subject: "alice", role: "supervisor" });
        const upload = () => fetch(`${endpoint.url}/v1/artifacts?task_id=t1`, { method: "PUT", body: "hello", headers: { authorization: `Bearer ${token}` } });
        // The store never finishes an upload: of two at once, one waits and the other is refused.
        const both = [upload(), upload()];
        for (const p of both) p.catch(() => undefined);
        expect((await Promise.race(both)).status).toBe(429);
      } finally {
        await endpoint.close();
      }
    } finally {
      other.remove();
    }
  });
});
