import { Code } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { thrown } from "../../test/support/rejection.js";
import { createTestKeys } from "../../test/support/test-keys.js";
import type { TestKeys } from "../../test/support/test-keys.js";
import { createTokenVerifier } from "../auth/tokens.js";
import { errorDetailOf } from "../errors.js";
import type { DelegationChain } from "./delegation-chain.js";
import { createHopTokenIssuer, forwardedTask, hopClaimsToJwt, parseHopClaims } from "./hop-token.js";
import type { HopClaims } from "./hop-token.js";

let keys: TestKeys;

beforeEach(async () => {
  keys = await createTestKeys("hop-token-");
});
afterEach(() => {
  vi.useRealTimers();
  keys.remove();
});

const chain: DelegationChain = {
  hops: [{ agent: "supervisor", intent: "campaign.launch", taskId: "t-1" }],
  budget: { moneyMicros: 900n, tokens: undefined },
};
const approval = { approvalId: "ap-1", approver: "hannah", digest: "sha256:abc" };
const hop: HopClaims = { chain, taskId: "t-1.copy", intent: "copy.draft", approval };

describe("createHopTokenIssuer", () => {
  const start = Date.UTC(2030, 0, 1);

  it("signs a gateway token bound to the target agent with the chain, task, intent and approval", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const token = await createHopTokenIssuer(keys.key, { subject: "gateway" })("copywriter", hop, start + 90_000);
    expect(decodeJwt(token)).toEqual({
      role: "gateway", sub: "gateway", iss: "agentmesh", aud: "agentmesh:copywriter", iat: start / 1000, exp: start / 1000 + 90,
      chain: { v: 1, hops: [{ a: "supervisor", i: "campaign.launch", t: "t-1" }], m: "900" },
      task: "t-1.copy",
      intent: "copy.draft",
      approval: { id: "ap-1", approver: "hannah", digest: "sha256:abc" },
    });
  });

  it.each<[string, number | undefined, number | undefined, number]>([
    ["until the deadline, rounded up to the second", start + 1_500, undefined, 2],
    ["an hour when the task has no deadline", undefined, undefined, 3600],
    ["at most an hour", start + 7_200_000, undefined, 3600],
    ["at most the configured cap", start + 600_000, 300, 300],
    ["one second when the deadline has passed", start - 5_000, undefined, 1],
  ])("lasts %s", async (_name, deadline, maxTtlSeconds, ttl) => {
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const issue = createHopTokenIssuer(keys.key, maxTtlSeconds === undefined ? { subject: "gateway" } : { subject: "gateway", maxTtlSeconds });
    const claims = decodeJwt(await issue("copywriter", hop, deadline));
    expect(claims.exp! - claims.iat!).toBe(ttl);
  });

  it("gives a retry of the same hop the token signed before, and any other hop a token of its own", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const issue = createHopTokenIssuer(keys.key, { subject: "gateway" });
    const deadline = start + 90_000;
    const first = await issue("copywriter", hop, deadline);
    vi.setSystemTime(start + 5_000);
    expect(await issue("copywriter", { ...hop, chain: { ...chain } }, deadline)).toBe(first);
    const others = await Promise.all([
      issue("summarizer", hop, deadline),
      issue("copywriter", { ...hop, taskId: "t-1.other" }, deadline),
      issue("copywriter", { ...hop, chain: { ...chain, budget: { moneyMicros: 800n, tokens: undefined } } }, deadline),
      issue("copywriter", { chain, taskId: hop.taskId, intent: hop.intent }, deadline),
      issue("copywriter", hop, deadline + 1_000),
    ]);
    expect(new Set([first, ...others]).size).toBe(6);
    expect(decodeJwt(others[0]).aud).toBe("agentmesh:summarizer");
  });

  it("signs a hop without a deadline again once a tenth of its lifetime has passed", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    const issue = createHopTokenIssuer(keys.key, { subject: "gateway", maxTtlSeconds: 100 });
    const first = await issue("copywriter", hop, undefined);
    vi.setSystemTime(start + 10_000);
    expect(await issue("copywriter", hop, undefined)).toBe(first);
    vi.setSystemTime(start + 10_001);
    const second = await issue("copywriter", hop, undefined);
    expect(second).not.toBe(first);
    expect(decodeJwt(second)).toMatchObject({ iat: start / 1000 + 10, exp: start / 1000 + 110 });
  });

  it("makes a token the target agent accepts, whose claims read back as the hop", async () => {
    const token = await createHopTokenIssuer(keys.key, { subject: "gateway" })("copywriter", hop, Date.now() + 60_000);
    const identity = await createTokenVerifier({ keys: keys.keys, self: "copywriter" })(`Bearer ${token}`);
    expect(identity.role).toBe("gateway");
    expect(parseHopClaims(identity.claims)).toEqual(hop);
  });
});

describe("parseHopClaims", () => {
  it.each<[string, Record<string, unknown> | undefined]>([
    ["no claims", undefined],
    ["claims without a chain", { other: 1 }],
  ])("returns undefined for %s", (_name, claims) => {
    expect(parseHopClaims(claims)).toBeUndefined();
  });

  it("reads a hop without an approval", () => {
    const plain = { chain, taskId: "t-2", intent: "x.y" };
    expect(parseHopClaims(hopClaimsToJwt(plain))).toEqual(plain);
  });

  it.each<[string, Record<string, unknown>]>([
    ["a malformed chain", { ...hopClaimsToJwt(hop), chain: { v: 9 } }],
    ["no task", { ...hopClaimsToJwt(hop), task: undefined }],
    ["an empty task", { ...hopClaimsToJwt(hop), task: "" }],
    ["a numeric intent", { ...hopClaimsToJwt(hop), intent: 3 }],
    ["an approval without a digest", { ...hopClaimsToJwt(hop), approval: { id: "a", approver: "b" } }],
    ["a null approval", { ...hopClaimsToJwt(hop), approval: null }],
  ])("throws UNAUTHENTICATED chain_invalid for %s", (_name, claims) => {
    const err = thrown(() => parseHopClaims(claims));
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([Code.Unauthenticated, "the gateway's token carries a malformed delegation chain", "chain_invalid"]);
  });
});

describe("forwardedTask", () => {
  it("gives the chain and the approval of the task the token names", () => {
    expect(forwardedTask(hop, "t-1.copy")).toEqual({ chain, approval });
  });

  it("gives no approval when the token carries none", () => {
    expect(forwardedTask({ chain, taskId: "t-1.copy", intent: "copy.draft" }, "t-1.copy")).toEqual({ chain, approval: undefined });
  });

  it("refuses a token issued for another task, so neither its chain nor its approval applies", () => {
    const err = thrown(() => forwardedTask(hop, "t-other"));
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason, errorDetailOf(err)?.metadata]).toEqual([
      Code.Unauthenticated, "the gateway's token was issued for task t-1.copy, not for task t-other", "chain_invalid", { token_task_id: "t-1.copy", task_id: "t-other" },
    ]);
  });

  it("refuses a gateway token that carries no chain", () => {
    const err = thrown(() => forwardedTask(undefined, "t-1.copy"));
    expect([err.code, err.rawMessage, errorDetailOf(err)?.reason]).toEqual([
      Code.Unauthenticated, "the gateway's token carries no delegation chain: a forwarded Delegate needs the token the gateway mints for its task", "chain_missing",
    ]);
  });
});
