/**
 * Who may upload into a task and fetch through its links, with real tokens and
 * chain proofs signed by a test key (the verifier is the gateway's).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ResultSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { createTestKeys } from "../../test/support/test-keys.js";
import type { TestKeys } from "../../test/support/test-keys.js";
import { rejection } from "../../test/support/rejection.js";
import { agentAudience, createTokenVerifier, issueToken } from "../auth/tokens.js";
import type { Role } from "../auth/identity.js";
import { hopClaimsToJwt } from "../chain/hop-token.js";
import { emptyChain } from "../chain/delegation-chain.js";
import { errorDetailOf } from "../errors.js";
import { createEmbeddedKv } from "../queue/embedded/embedded-kv.js";
import { encodeSharedRecord, sharedTaskKey } from "../queue/queued-task.js";
import type { KvStore } from "../queue/queue-types.js";
import { artifactOwnerKey, createArtifactAccess, sharedTaskOwnership } from "./artifact-access.js";
import type { ArtifactAccess, ArtifactCaller } from "./artifact-access.js";
import { ArtifactLinkError } from "./artifact-link-error.js";
import type { ArtifactLinkClaims } from "./artifact-link.js";

/** Tasks the gateway knows, by owner. */
const owners = new Map([["root", "alice"], ["root.child", "planner"]]);

let keys: TestKeys;
let access: ArtifactAccess;
/** The backend's shared store, which every gateway replica reads. */
let kv: KvStore;
let kvDir: string;

/** The rules of one gateway replica whose task journal holds `local`, over the shared store. */
const replica = (local: ReadonlyMap<string, string>) => createArtifactAccess({
  verifier: createTokenVerifier({ keys: keys.keys, self: "gateway" }),
  ...sharedTaskOwnership(kv, (id) => local.get(id)),
  isAgent: (subject) => subject === "planner" || subject === "reader",
});

beforeAll(async () => {
  keys = await createTestKeys("agentmesh-access-");
  kvDir = mkdtempSync(join(tmpdir(), "agentmesh-access-kv-"));
  kv = await createEmbeddedKv({ dir: kvDir });
  access = replica(owners);
});
afterAll(async () => {
  await kv.close();
  rmSync(kvDir, { recursive: true, force: true });
  keys.remove();
});

/** The caller presenting a token for `subject` in `role`, with the gateway's hop token of `task` (whose chain is `chain`) when given. */
async function caller(subject: string, role: Role, task?: { id: string; chain: string[] }): Promise<ArtifactCaller> {
  const headers: Record<string, string> = { authorization: `Bearer ${await issueToken(keys.key, { subject, role })}` };
  if (task !== undefined) {
    const chain = { ...emptyChain, hops: task.chain.map((t) => ({ agent: "planner", intent: "test.relay", taskId: t })) };
    headers["agentmesh-chain"] = await issueToken(keys.key, { subject: "gateway", role: "gateway", audience: agentAudience(subject), claims: hopClaimsToJwt({ chain, taskId: task.id, intent: "test.echo" }) });
  }
  return access.authenticate((name) => headers[name]);
}

const link = (taskId: string, uploader = "alice"): ArtifactLinkClaims => ({ artifactId: "a1", digest: `sha256:${"0".repeat(64)}`, size: 1, mediaType: "text/plain", taskId, uploader, expiresAt: 0 });

/** The reason `fn` is refused with, or "allowed". */
async function outcome(fn: () => Promise<void>): Promise<string> {
  try {
    await fn();
    return "allowed";
  } catch (err) {
    if (err instanceof ArtifactLinkError) return err.reason;
    if (err instanceof ConnectError) return errorDetailOf(err)?.reason ?? "no reason";
    throw err;
  }
}

describe("createArtifactAccess", () => {
  it.each([
    ["the task's owner", () => caller("alice", "supervisor"), "root", "allowed"],
    ["the uploader, whoever owns the task", () => caller("bob", "supervisor"), "bob-task", "allowed"],
    ["an agent running the task", () => caller("reader", "worker", { id: "root", chain: [] }), "root", "allowed"],
    ["an agent running a task delegated from it", () => caller("reader", "worker", { id: "root.child.leaf", chain: ["root", "root.child"] }), "root", "allowed"],
    ["another caller", () => caller("carol", "supervisor"), "root", "link_out_of_scope"],
    ["an agent without its task's proof", () => caller("reader", "worker"), "root", "link_out_of_scope"],
    ["an agent proving a task beside it", () => caller("reader", "worker", { id: "other", chain: ["elsewhere"] }), "root", "link_out_of_scope"],
    ["an agent proving the parent of the linked task", () => caller("reader", "worker", { id: "root", chain: [] }), "root.child", "link_out_of_scope"],
  ])("fetch by %s: %s", async (_name, who, taskId, expected) => {
    const c = await who();
    const uploader = taskId === "bob-task" ? "bob" : "alice";
    expect(await outcome(() => access.assertMayFetch(c, link(taskId, uploader)))).toBe(expected);
  });

  it.each([
    ["the task's owner, into its task", () => caller("alice", "supervisor"), "root", "allowed"],
    ["a caller starting a chain, into a task not seen yet", () => caller("bob", "supervisor"), "new-task", "allowed"],
    ["another caller, into a task someone delegated", () => caller("bob", "supervisor"), "root", "task_out_of_scope"],
    ["an agent, into the task it runs", () => caller("reader", "worker", { id: "root.child.leaf", chain: ["root", "root.child"] }), "root.child.leaf", "allowed"],
    ["an agent, into a task it was delegated from", () => caller("reader", "worker", { id: "root.child.leaf", chain: ["root", "root.child"] }), "root", "allowed"],
    ["an agent without a proof, into a task not seen yet", () => caller("reader", "worker"), "new-task", "task_out_of_scope"],
    ["an agent the offers name, in role supervisor, without a proof", () => caller("planner", "supervisor"), "new-task", "task_out_of_scope"],
    ["an agent, into the task it delegated (it owns it)", () => caller("planner", "supervisor"), "root.child", "allowed"],
  ])("upload by %s: %s", async (_name, who, taskId, expected) => {
    const c = await who();
    expect(await outcome(() => access.assertMayUpload(c, taskId))).toBe(expected);
  });

  it("takes a task's owner from the shared task record when this replica's journal does not know it (another replica, or a restart)", async () => {
    await kv.put(sharedTaskKey("queued-elsewhere"), encodeSharedRecord({ owner: "alice", result: create(ResultSchema, {}) }));
    const [alice, bob] = await Promise.all([caller("alice", "supervisor"), caller("bob", "supervisor")]);
    expect(await outcome(() => access.assertMayUpload(bob, "queued-elsewhere"))).toBe("task_out_of_scope");
    expect(await outcome(() => access.assertMayUpload(alice, "queued-elsewhere"))).toBe("allowed");
    expect(await outcome(() => access.assertMayFetch(alice, link("queued-elsewhere", "bob")))).toBe("allowed");
    expect(await outcome(() => access.assertMayFetch(bob, link("queued-elsewhere", "carol")))).toBe("link_out_of_scope");
    expect(await kv.get(artifactOwnerKey("queued-elsewhere"))).toBeUndefined();
  });

  it("reserves a task no one has seen for its first uploader, on every replica: another caller may not upload into it", async () => {
    const other = replica(new Map());
    const [bob, carol] = await Promise.all([caller("bob", "supervisor"), caller("carol", "supervisor")]);
    expect(await outcome(() => access.assertMayUpload(bob, "fresh-task"))).toBe("allowed");
    expect(await outcome(() => access.assertMayUpload(bob, "fresh-task"))).toBe("allowed");
    expect(await outcome(() => other.assertMayUpload(bob, "fresh-task"))).toBe("allowed");
    expect(await outcome(() => access.assertMayUpload(carol, "fresh-task"))).toBe("task_out_of_scope");
    const refused = await rejection(other.assertMayUpload(carol, "fresh-task"));
    expect(refused.rawMessage).toBe("carol may not upload into task fresh-task: another caller uploaded into it first: use a task id of your own");
    // Of two callers racing for a task, one wins.
    const race = await Promise.all([access.assertMayUpload(bob, "raced"), other.assertMayUpload(carol, "raced")].map((p) => outcome(() => p)));
    expect(race.sort()).toEqual(["allowed", "task_out_of_scope"]);
  });

  it("refuses a missing token and a chain proof issued to someone else with UNAUTHENTICATED", async () => {
    const missing = await rejection(access.authenticate(() => undefined));
    expect([missing.code, errorDetailOf(missing)?.reason]).toEqual([Code.Unauthenticated, "token_missing"]);
    const proof = await issueToken(keys.key, { subject: "gateway", role: "gateway", audience: agentAudience("planner"), claims: hopClaimsToJwt({ chain: emptyChain, taskId: "root", intent: "test.echo" }) });
    const token = await issueToken(keys.key, { subject: "reader", role: "worker" });
    const stolen = await rejection(access.authenticate((name) => ({ authorization: `Bearer ${token}`, "agentmesh-chain": proof })[name]));
    expect([stolen.code, errorDetailOf(stolen)?.reason, stolen.rawMessage]).toEqual([
      Code.Unauthenticated, "chain_invalid", "the delegation chain in the agentmesh-chain header was issued to agentmesh:planner, not to the caller (agentmesh:reader)",
    ]);
  });
});
