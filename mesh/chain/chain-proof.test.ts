import { Code } from "@connectrpc/connect";
import type { ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rejection, thrown } from "../../test/support/rejection.js";
import { createTestKeys, foreignSigningKey } from "../../test/support/test-keys.js";
import type { TestKeys } from "../../test/support/test-keys.js";
import type { Identity } from "../auth/identity.js";
import type { SigningKey } from "../auth/keys.js";
import { agentAudience, createTokenVerifier, issueToken } from "../auth/tokens.js";
import type { TokenVerifier } from "../auth/tokens.js";
import { errorDetailOf } from "../errors.js";
import { startedChain, subDelegationChain, verifyChainProof } from "./chain-proof.js";
import type { Budget, DelegationChain } from "./delegation-chain.js";
import { createHopTokenIssuer, hopClaimsToJwt } from "./hop-token.js";
import type { HopClaims } from "./hop-token.js";

let testKeys: TestKeys;
let key: SigningKey;
let verifier: TokenVerifier;

beforeEach(async () => {
  testKeys = await createTestKeys("chain-proof-");
  key = testKeys.key;
  verifier = createTokenVerifier({ keys: testKeys.keys, self: "gateway" });
});
afterEach(() => testKeys.remove());

const refusal = (err: ConnectError) => [err.code, err.rawMessage, errorDetailOf(err)?.reason];

const unlimited: Budget = { moneyMicros: undefined, tokens: undefined };
const chain: DelegationChain = { hops: [{ agent: "supervisor", intent: "campaign.launch", taskId: "t-1" }], budget: { moneyMicros: 500n, tokens: 2000n } };
const hop: HopClaims = { chain, taskId: "t-1.copy", intent: "copy.draft" };
const notSigned = (why: string) => `the agentmesh-chain header is not a delegation chain signed by the mesh: ${why}`;

describe("verifyChainProof", () => {
  it("returns what a hop token the gateway issued to the caller proves", async () => {
    const proof = await createHopTokenIssuer(key, { subject: "gateway" })("copywriter", hop, Date.now() + 60_000);
    expect(await verifyChainProof(verifier, proof, "copywriter")).toEqual(hop);
  });

  it.each<[string, () => Promise<string>, string]>([
    ["a proof issued to another agent", () => createHopTokenIssuer(key, { subject: "gateway" })("editor", hop, undefined),
      "the delegation chain in the agentmesh-chain header was issued to agentmesh:editor, not to the caller (agentmesh:copywriter)"],
    ["a proof for the caller and every service", () => issueToken(key, { subject: "gateway", role: "gateway", audience: "agentmesh", claims: hopClaimsToJwt(hop) }),
      "the delegation chain in the agentmesh-chain header was issued to agentmesh, not to the caller (agentmesh:copywriter)"],
    ["a token of a worker, not the gateway", () => issueToken(key, { subject: "copywriter", role: "worker", audience: agentAudience("copywriter"), claims: hopClaimsToJwt(hop) }),
      notSigned("it is not a token of the gateway")],
    ["a gateway token with no chain", () => issueToken(key, { subject: "gateway", role: "gateway", audience: agentAudience("copywriter") }),
      notSigned("the token carries no delegation chain")],
    ["the unsigned chain of old (base64url JSON)", () => Promise.resolve(Buffer.from(JSON.stringify({ v: 1, hops: [] })).toString("base64url")),
      notSigned("malformed token")],
    ["a proof signed by another key", async () => createHopTokenIssuer(await foreignSigningKey(testKeys.dir), { subject: "gateway" })("copywriter", hop, undefined),
      notSigned("signature verification failed")],
    ["a proof past its expiry and the clock tolerance", () => issueToken(key, { subject: "gateway", role: "gateway", audience: agentAudience("copywriter"), ttlSeconds: -60, claims: hopClaimsToJwt(hop) }),
      "the delegation chain in the agentmesh-chain header has expired: it lasts until its task's deadline, an hour at most"],
  ])("throws UNAUTHENTICATED chain_invalid for %s", async (_name, make, message) => {
    expect(refusal(await rejection(verifyChainProof(verifier, await make(), "copywriter")))).toEqual([Code.Unauthenticated, message, "chain_invalid"]);
  });

  it("accepts a proof just past its expiry, within the clock tolerance", async () => {
    const proof = await issueToken(key, { subject: "gateway", role: "gateway", audience: agentAudience("copywriter"), ttlSeconds: -5, claims: hopClaimsToJwt(hop) });
    expect(await verifyChainProof(verifier, proof, "copywriter")).toEqual(hop);
  });
});

describe("subDelegationChain", () => {
  it.each<[string, Budget, Budget]>([
    ["the caller sends no budget: the proven one", unlimited, { moneyMicros: 500n, tokens: 2000n }],
    ["the caller lowers both", { moneyMicros: 120n, tokens: 30n }, { moneyMicros: 120n, tokens: 30n }],
    ["the caller tries to raise both: the proven one", { moneyMicros: 9_999n, tokens: 99_999n }, { moneyMicros: 500n, tokens: 2000n }],
    ["the caller lowers one and raises the other", { moneyMicros: 100n, tokens: 5000n }, { moneyMicros: 100n, tokens: 2000n }],
    ["the caller has overspent", { moneyMicros: -3n, tokens: undefined }, { moneyMicros: -3n, tokens: 2000n }],
  ])("adds the caller's task as a hop, with the budget when %s", (_name, callerBudget, budget) => {
    expect(subDelegationChain(hop, "copywriter", callerBudget)).toEqual({
      hops: [...chain.hops, { agent: "copywriter", intent: "copy.draft", taskId: "t-1.copy" }],
      budget,
    });
  });

  it("lets the caller limit a budget the proof leaves unlimited", () => {
    const open = { ...hop, chain: { hops: [], budget: unlimited } };
    expect(subDelegationChain(open, "copywriter", { moneyMicros: 70n, tokens: undefined }).budget).toEqual({ moneyMicros: 70n, tokens: undefined });
  });
});

describe("startedChain", () => {
  const who = (role: Identity["role"]): Identity => ({ subject: "copywriter", role, expiresAt: 2_000_000_000 });

  it.each<Identity["role"]>(["supervisor", "approver", "auditor"])("starts a chain with no hops for a caller in role %s, within the budget it sends", (role) => {
    expect(startedChain(who(role), { moneyMicros: 10n, tokens: undefined })).toEqual({ hops: [], budget: { moneyMicros: 10n, tokens: undefined } });
  });

  it("throws UNAUTHENTICATED chain_missing for an agent the service knows, whatever its role", () => {
    expect(refusal(thrown(() => startedChain(who("supervisor"), unlimited, (s) => s === "copywriter")))[2]).toBe("chain_missing");
    expect(startedChain({ ...who("supervisor"), subject: "alice" }, unlimited, (s) => s === "copywriter").hops).toEqual([]);
  });

  it("throws UNAUTHENTICATED chain_missing for a worker, which acts only within a task it was given", () => {
    expect(refusal(thrown(() => startedChain(who("worker"), unlimited)))).toEqual([
      Code.Unauthenticated,
      "copywriter is an agent of the mesh: an agent delegates only within a task it was given, so the agentmesh-chain header must carry the gateway's token for that task",
      "chain_missing",
    ]);
  });
});
