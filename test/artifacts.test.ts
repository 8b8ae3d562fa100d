/**
 * Artifacts by signed link, end to end, on each queue backend's artifact store
 * (embedded on local disk; NATS JetStream Object Store on a real nats-server):
 * a real gateway with its artifact endpoint and two real agents on loopback.
 * keeper runs `test.relay` (it writes an artifact of its own and delegates onward
 * with its task's artifacts and its own); echoer runs `test.echo`, which reads
 * every artifact of its task through `ctx.fetchArtifact`. Everything runs under
 * the committed policy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Code } from "@connectrpc/connect";
import { fromJson } from "@bufbuild/protobuf";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { ArtifactRefSchema, DelegationMode, TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { ArtifactRef } from "../gen/agentmesh/v1/task_pb.js";
import {
  artifactDigest, artifactLinkUri, chainHeader, createArtifactClient, createGrpcClient, defineIntent, emptyChain, errorDetailOf, hopClaimsToJwt,
  issueToken, loadSigningKey, signArtifactLink, violationsOf,
} from "../mesh/index.js";
import type { GrpcClient, IntentDefinition, SigningKey } from "../mesh/index.js";
import { draftCopyDefinition } from "../services/copywriter/agent.js";
import { summarizeDefinition } from "../services/summarizer/agent.js";
import { startNatsServer } from "./support/nats-server.js";
import type { TestNatsServer } from "./support/nats-server.js";
import { rejection } from "./support/rejection.js";
import { foreignSigningKey } from "./support/test-keys.js";
import { startTestMesh } from "./support/test-mesh.js";
import type { TestMesh } from "./support/test-mesh.js";

const run = promisify(execFile);

/** The gateway's upload cap in these tests. */
const maxArtifactBytes = 64 * 1024;

/** `test.echo` that answers its text and the text of every artifact of its task, joined by "|". */
const reader = defineIntent<{ text: string }, { text: string }>({
  name: "test.echo",
  description: "Echoes its text and its artifacts.",
  inputSchema: { type: "object", required: ["text"], properties: { text: { type: "string" } } },
  outputSchema: { type: "object", required: ["text"], properties: { text: { type: "string" } } },
  tools: ["echo"],
  requiredScopes: [],
  async handle(inputs, ctx) {
    const texts = await Promise.all(ctx.artifacts.map(async (ref) => new TextDecoder().decode(await ctx.fetchArtifact(ref))));
    return { outputs: { text: [inputs.text, ...texts].join("|") }, rationale: "read", evidence: [], confidence: 1 };
  },
});

/** `test.relay` that writes a note of its own and delegates onward with its task's artifacts and the note. */
const relay = defineIntent<{ intent: string; inputs: Record<string, unknown> }, Record<string, unknown>>({
  name: "test.relay",
  description: "Writes a note and delegates onward with it.",
  inputSchema: { type: "object", required: ["intent", "inputs"], properties: { intent: { type: "string" }, inputs: { type: "object" } } },
  outputSchema: { type: "object" },
  tools: [],
  requiredScopes: [],
  async handle(inputs, ctx) {
    const note = await ctx.putArtifact(`note of ${ctx.taskId}`, { mediaType: "text/plain", name: "note.txt" });
    const child = await ctx.delegate({ key: "child", intent: inputs.intent, inputs: inputs.inputs, artifacts: [...ctx.artifacts, note] });
    return { outputs: { child: child.outputs ?? null, noteTask: ctx.taskId }, rationale: "relayed", evidence: [], confidence: 1 };
  },
});

const backends: [string, () => Promise<{ env: Record<string, string>; stop: () => Promise<void> }>][] = [
  ["embedded", () => Promise.resolve({ env: {}, stop: () => Promise.resolve() })],
  ["nats", async () => {
    const server: TestNatsServer = await startNatsServer();
    return { env: { AGENTMESH_QUEUE: server.url }, stop: () => server.stop() };
  }],
];

describe.each(backends)("artifacts by signed link (%s backend)", (backend, startBackend) => {
  let stopBackend: () => Promise<void>;
  let mesh: TestMesh;
  let client: GrpcClient;
  let key: SigningKey;
  let alice: string;
  let bob: string;
  let echoer: string;
  let n = 0;
  const taskId = (name: string) => `art-${backend}-${name}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    const started = await startBackend();
    stopBackend = started.stop;
    mesh = await startTestMesh(
      { ...started.env, AGENTMESH_ARTIFACTS_ADDRESS: "127.0.0.1:0", AGENTMESH_MAX_ARTIFACT_BYTES: String(maxArtifactBytes) },
      { keeper: ["test.relay"], echoer: ["test.echo"], copywriter: ["copy.draft"], summarizer: ["docs.summarize"] },
    );
    const agentEnv = { AGENTMESH_ARTIFACTS_URL: mesh.gateway.artifactsUrl };
    await mesh.startAgent("keeper", [relay as IntentDefinition<never, never>], agentEnv);
    await mesh.startAgent("echoer", [reader as IntentDefinition<never, never>], agentEnv);
    await mesh.startAgent("copywriter", [draftCopyDefinition as IntentDefinition<never, never>], agentEnv);
    await mesh.startAgent("summarizer", [summarizeDefinition as IntentDefinition<never, never>], agentEnv);
    client = createGrpcClient(mesh.grpcAddress);
    key = await loadSigningKey(join(mesh.home, "keys", "signing-key.jwk.json"));
    [alice, bob, echoer] = await Promise.all([mesh.token("alice"), mesh.token("bob"), mesh.token("echoer", "worker")]);
  }, 60_000);
  afterAll(async () => {
    client.close();
    await mesh.stop();
    await stopBackend();
  });

  /** PUTs `body` into `task` as `token`; the status and JSON body. */
  async function upload(body: Uint8Array | string | ReadableStream<Uint8Array>, task: string, token: string): Promise<{ status: number; json: Record<string, unknown> }> {
    const init: RequestInit & { duplex?: "half" } = {
      method: "PUT", body, headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" },
      ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
    };
    const res = await fetch(`${mesh.gateway.artifactsUrl}/v1/artifacts?task_id=${task}&name=brief.txt`, init);
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  /** Uploads `text` into `task` as alice; its reference. */
  async function uploaded(text: string, task: string): Promise<ArtifactRef> {
    const { status, json } = await upload(text, task, alice);
    expect(status).toBe(201);
    return fromJson(ArtifactRefSchema, json as never);
  }

  /** GETs `uri` as `token` (with a chain proof when given); status, headers, body. */
  async function get(uri: string, token: string | undefined, proof?: string) {
    const res = await fetch(uri, { headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(proof === undefined ? {} : { [chainHeader]: proof }) } });
    const text = await res.text();
    return { status: res.status, type: res.headers.get("content-type"), length: res.headers.get("content-length"), digest: res.headers.get("repr-digest"), text };
  }

  /** The refusal body of the endpoint. */
  const refused = (reason: string, message: string) => ({ error: { reason, message } });

  /** The link's claims, unverified. */
  const claimsOf = (uri: string) => JSON.parse(Buffer.from(new URL(uri).searchParams.get("link")!.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;

  const delegate = (req: Record<string, unknown>, token = alice) =>
    client.unary(DelegationService.method.delegate, req, { metadata: { authorization: `Bearer ${token}` }, deadline: Date.now() + 30_000 });

  it("uploads into a task's scope and answers a reference the uploader can fetch back", async () => {
    const task = taskId("upload");
    const { status, json } = await upload("the campaign brief", task, alice);
    const digest = artifactDigest(new TextEncoder().encode("the campaign brief"));
    expect(status).toBe(201);
    expect(json).toEqual({ uri: expect.stringMatching(new RegExp(`^${mesh.gateway.artifactsUrl}/v1/artifacts/[A-Za-z0-9_-]+\\?link=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`)) as string, digest, sizeBytes: 18, mediaType: "text/plain", name: "brief.txt" });
    expect(claimsOf(json.uri as string)).toMatchObject({ task, sub: "alice", dig: digest, size: 18, mt: "text/plain" });
    expect(await get(json.uri as string, alice)).toEqual({
      status: 200, type: "text/plain", length: "18", digest: `sha-256=:${Buffer.from(digest.slice(7), "hex").toString("base64")}:`, text: "the campaign brief",
    });
  });

  it("lets the delegates of a task fetch its artifacts through Delegate, and the owner fetch what they wrote", async () => {
    const task = taskId("chain");
    const brief = await uploaded("brief for the chain", task);
    const res = await delegate({ taskId: task, intent: "test.relay", inputs: { intent: "test.echo", inputs: { text: "read" } }, artifacts: [brief] });
    expect(res.result?.state).toBe(TaskState.COMPLETED);
    // echoer ran task.child: it read the brief (scoped to task, its grandparent) and keeper's note (scoped to task, its parent).
    expect(res.result?.outputs).toEqual({ child: { text: `read|brief for the chain|note of ${task}` }, noteTask: task });
  });

  it("lets a queued task's worker fetch its artifacts with the credentials it pulled the task with", async () => {
    const task = taskId("queued");
    const brief = await uploaded("queued brief", task);
    const res = await delegate({ taskId: task, intent: "test.relay", inputs: { intent: "test.echo", inputs: { text: "q" } }, artifacts: [brief], mode: DelegationMode.QUEUED });
    // Answered at once: still queued, or already pulled by the worker.
    expect([TaskState.QUEUED, TaskState.WORKING]).toContain(res.result?.state);
    let last: TaskState | undefined;
    let outputs: unknown;
    for await (const ev of client.serverStream(DelegationService.method.watchResult, { taskId: task }, { metadata: { authorization: `Bearer ${alice}` }, deadline: Date.now() + 30_000 })) {
      last = ev.state;
      outputs = ev.result?.outputs;
    }
    expect([last, outputs]).toEqual([TaskState.COMPLETED, { child: { text: `q|queued brief|note of ${task}` }, noteTask: task }]);
  });

  it("the demo's copywriter hands its documents to the summarizer by signed link", async () => {
    const task = taskId("demo");
    const documents = [
      { title: "Product brief", text: "Beacon Analytics gives operations teams one dashboard for every shipment. It connects to carrier feeds in under a day." },
      { title: "Interview notes", text: "Operations leaders want alerts about delays. A single dashboard for every shipment would change their mornings." },
    ];
    const brief = { product: "Beacon Analytics", audience: "operations leaders", tone: "friendly", channel: "email", keyMessages: ["one dashboard"], callToAction: "Book a demo" };
    const res = await delegate({ taskId: task, intent: "copy.draft", inputs: { brief, documents } });
    expect(res.result?.state).toBe(TaskState.COMPLETED);
    expect(res.result?.rationale).toContain(` The context is a summary of 2 document(s) by summarizer (task ${task}.summary).`);
    expect(res.result?.subtasks.map((t) => [t.taskId, t.agent, TaskState[t.state]])).toEqual([[`${task}.summary`, "summarizer", "COMPLETED"]]);
  });

  it("refuses a forged link: an altered claim, or a link signed with a key the mesh does not trust", async () => {
    const task = taskId("forged");
    const ref = await uploaded("secret", task);
    const [h, p, s] = new URL(ref.uri).searchParams.get("link")!.split(".") as [string, string, string];
    const altered = Buffer.from(JSON.stringify({ ...claimsOf(ref.uri), task: "someone-elses" })).toString("base64url");
    const invalid = refused("link_invalid", "not a link signed by the mesh: signature verification failed");
    expect(await get(ref.uri.replace(`${h}.${p}.${s}`, `${h}.${altered}.${s}`), alice)).toMatchObject({ status: 403, text: JSON.stringify(invalid) });
    const claims = claimsOf(ref.uri);
    const foreign = await signArtifactLink(await foreignSigningKey(mesh.home), {
      artifactId: claims.art as string, digest: ref.digest, size: 6, mediaType: "text/plain", taskId: task, uploader: "alice", expiresAt: Math.floor(Date.now() / 1000) + 600,
    });
    expect(await get(artifactLinkUri(mesh.gateway.artifactsUrl, claims.art as string, foreign), alice)).toMatchObject({ status: 403, text: JSON.stringify(refused("link_invalid", "not a link signed by the mesh: no trusted key signed it")) });
  });

  it("refuses an expired link", async () => {
    const task = taskId("expired");
    const ref = await uploaded("old news", task);
    const claims = claimsOf(ref.uri);
    const expiresAt = Math.floor(Date.now() / 1000) - 60;
    const jws = await signArtifactLink(key, { artifactId: claims.art as string, digest: ref.digest, size: 8, mediaType: "text/plain", taskId: task, uploader: "alice", expiresAt });
    expect(await get(artifactLinkUri(mesh.gateway.artifactsUrl, claims.art as string, jws), alice)).toMatchObject({
      status: 403, text: JSON.stringify(refused("link_expired", `the link expired at ${new Date(expiresAt * 1000).toISOString()}: ask the task's owner for a new one`)),
    });
  });

  it("refuses a link out of the fetcher's scope: another caller, an agent without its task's proof, an agent proving another task", async () => {
    const task = taskId("scope");
    const ref = await uploaded("only for the task", task);
    const hop = (forTask: string) => issueToken(key, { subject: "gateway", role: "gateway", audience: "agentmesh:echoer", claims: hopClaimsToJwt({ chain: emptyChain, taskId: forTask, intent: "test.echo" }) });
    const scopeMessage = (who: string, hint: string) => `the link is scoped to task ${task}: only its owner and the agents on its chain may fetch it, and ${who} is neither${hint}`;
    const proofHint = " (an agent sends the gateway's token of its task in the agentmesh-chain header)";
    expect(await get(ref.uri, bob)).toMatchObject({ status: 403, text: JSON.stringify(refused("link_out_of_scope", scopeMessage("bob", proofHint))) });
    expect(await get(ref.uri, echoer)).toMatchObject({ status: 403, text: JSON.stringify(refused("link_out_of_scope", scopeMessage("echoer", proofHint))) });
    expect(await get(ref.uri, echoer, await hop(taskId("other")))).toMatchObject({ status: 403, text: JSON.stringify(refused("link_out_of_scope", scopeMessage("echoer", ""))) });
    // The same agent proving the link's own task may fetch it.
    expect(await get(ref.uri, echoer, await hop(task))).toMatchObject({ status: 200, text: "only for the task" });
  });

  it("refuses a fetch without credentials (401) and a link to an artifact no longer stored (404)", async () => {
    const task = taskId("missing");
    const ref = await uploaded("here", task);
    expect(await get(ref.uri, undefined)).toMatchObject({ status: 401, text: JSON.stringify(refused("token_missing", "missing bearer token: send the header 'authorization: Bearer <token>'")) });
    const jws = await signArtifactLink(key, { artifactId: "gone", digest: ref.digest, size: 4, mediaType: "text/plain", taskId: task, uploader: "alice", expiresAt: Math.floor(Date.now() / 1000) + 600 });
    expect(await get(artifactLinkUri(mesh.gateway.artifactsUrl, "gone", jws), alice)).toMatchObject({ status: 404, text: JSON.stringify(refused("artifact_not_found", "artifact gone is no longer stored")) });
  });

  it("refuses an upload into a task that is not the caller's", async () => {
    const task = taskId("owned");
    const ref = await uploaded("alice's", task);
    expect((await delegate({ taskId: task, intent: "test.echo", inputs: { text: "mine" }, artifacts: [ref] })).result?.state).toBe(TaskState.COMPLETED);
    expect(await upload("bob's", task, bob)).toEqual({ status: 403, json: refused("task_out_of_scope", `bob may not upload into task ${task}: it was delegated by someone else, and your chain does not include it`) });
    const fresh = taskId("fresh");
    expect(await upload("echoer's", fresh, echoer)).toEqual({
      status: 403, json: refused("task_out_of_scope", `echoer may not upload into task ${fresh}: an agent uploads only into the tasks it runs or was delegated from: send the gateway's token of your task in the agentmesh-chain header`),
    });
  });

  it("refuses an upload over the cap with 413, whether its size is declared or streamed", async () => {
    const tooLarge = refused("artifact_too_large", `the artifact is larger than ${maxArtifactBytes} bytes (AGENTMESH_MAX_ARTIFACT_BYTES): split it or raise the limit`);
    expect(await upload(new Uint8Array(maxArtifactBytes + 1), taskId("big"), alice)).toEqual({ status: 413, json: tooLarge });
    const chunk = new Uint8Array(maxArtifactBytes / 2 + 1);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.enqueue(chunk);
        controller.close();
      },
    });
    expect(await upload(stream, taskId("big-stream"), alice)).toEqual({ status: 413, json: tooLarge });
    expect((await upload(new Uint8Array(maxArtifactBytes), taskId("at-cap"), alice)).status).toBe(201);
  });

  it("refuses a Delegate whose artifact reference is out of the task's chain, forged, or does not match its link", async () => {
    const other = taskId("other");
    const ref = await uploaded("scoped elsewhere", other);
    const task = taskId("refs");
    const wrongDigest = `sha256:${"0".repeat(64)}`;
    const err = await rejection(delegate({
      taskId: task, intent: "test.echo", inputs: { text: "x" },
      artifacts: [ref, { ...ref, uri: ref.uri.replace(/\.[\w-]+$/, ".AAAA") }, { ...ref, uri: (await uploaded("mine", task)).uri, digest: wrongDigest, sizeBytes: 3n }],
    }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(errorDetailOf(err)?.reason).toBe("artifact_invalid");
    const mine = artifactDigest(new TextEncoder().encode("mine"));
    expect(violationsOf(err).map((v) => ({ field: v.field, description: v.description }))).toEqual([
      { field: "artifacts[0].uri", description: `link_out_of_scope: the link is scoped to task ${other}, which is not task ${task} nor on its chain` },
      { field: "artifacts[1].uri", description: "link_invalid: not a link signed by the mesh: signature verification failed" },
      { field: "artifacts[2].digest", description: `must be the link's digest ${mine}` },
      { field: "artifacts[2].size_bytes", description: "must be the link's size 4" },
    ]);
  });

  it("refuses fetched bytes that do not match the reference's digest", async () => {
    const task = taskId("digest");
    const ref = await uploaded("exact bytes", task);
    const artifacts = createArtifactClient({ baseUrl: mesh.gateway.artifactsUrl, token: () => Promise.resolve(alice) });
    expect(new TextDecoder().decode(await artifacts.fetch(ref))).toBe("exact bytes");
    // The host a link names is informative: the client fetches its path and query at its own endpoint.
    const elsewhere = ref.uri.replace(mesh.gateway.artifactsUrl, "http://gateway.unreachable.invalid:7072");
    expect(new TextDecoder().decode(await artifacts.fetch({ ...ref, uri: elsewhere }))).toBe("exact bytes");
    const err = await rejection(artifacts.fetch({ ...ref, digest: `sha256:${"1".repeat(64)}` }));
    expect([err.code, errorDetailOf(err)?.reason, err.rawMessage]).toEqual([
      Code.DataLoss, "artifact_digest_mismatch", `the artifact's bytes (11 bytes, ${ref.digest}) are not the referenced 11 bytes with digest sha256:${"1".repeat(64)}`,
    ]);
  });

  it("agentmesh artifacts put prints a reference the operator delegates with; artifacts get fetches what it links", async () => {
    const task = taskId("cli");
    const file = join(mesh.home, "brief.md");
    writeFileSync(file, "# Brief\nfrom the command line\n");
    const env = { ...process.env, AGENTMESH_HOME: mesh.home, AGENTMESH_GATEWAY: mesh.grpcAddress, AGENTMESH_ARTIFACTS_URL: mesh.gateway.artifactsUrl };
    const { stdout } = await run(process.execPath, ["bin/agentmesh.js", "artifacts", "put", file, "--task", task], { env });
    const ref = fromJson(ArtifactRefSchema, JSON.parse(stdout) as never);
    expect({ ...ref, uri: "" }).toEqual(fromJson(ArtifactRefSchema, { uri: "", digest: artifactDigest(new TextEncoder().encode("# Brief\nfrom the command line\n")), sizeBytes: "30", mediaType: "text/markdown", name: "brief.md" }));
    const operator = await mesh.token("operator");
    expect((await delegate({ taskId: task, intent: "test.echo", inputs: { text: "cli" }, artifacts: [ref] }, operator)).result?.outputs).toEqual({ text: "cli|# Brief\nfrom the command line\n" });
    expect((await run(process.execPath, ["bin/agentmesh.js", "artifacts", "get", ref.uri], { env })).stdout).toBe("# Brief\nfrom the command line\n");
    const refused = await run(process.execPath, ["bin/agentmesh.js", "artifacts", "get", ref.uri], { env: { ...env, AGENTMESH_TOKEN: bob } }).catch((err: unknown) => err as { code: number; stderr: string });
    expect(refused).toMatchObject({ code: 1, stderr: `error: [permission_denied] the link is scoped to task ${task}: only its owner and the agents on its chain may fetch it, and bob is neither (an agent sends the gateway's token of its task in the agentmesh-chain header) (reason: link_out_of_scope)\n` });
  }, 30_000);

  it("refuses inline inputs over the limit with INVALID_ARGUMENT and says how to send them as an artifact", async () => {
    const err = await rejection(delegate({ taskId: taskId("inline"), intent: "test.echo", inputs: { text: "a".repeat(300_000) } }));
    expect([err.code, errorDetailOf(err)?.reason, err.rawMessage]).toEqual([
      Code.InvalidArgument, "inputs_too_large",
      "inputs are 300011 bytes, over the 262144-byte inline limit: upload large content as an artifact (PUT /v1/artifacts?task_id=<task id> on the gateway's artifact endpoint, or `agentmesh artifacts put <file> --task <task id>`) and pass the reference it returns in `artifacts`",
    ]);
  });
});
