import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { errorDetailOf } from "../errors.js";
import { assertNoCycle, decodeChain, emptyChain, encodeChain, extendChain, findCycle, minLimit } from "./delegation-chain.js";
import type { DelegationChain } from "./delegation-chain.js";

/** Runs `fn` and returns the ConnectError it throws (fails the test when it throws nothing else). */
function connectErrorOf(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error("expected a ConnectError, but nothing was thrown");
}

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

const twoHops: DelegationChain = {
  hops: [
    { agent: "supervisor", intent: "campaign.launch", taskId: "t-1" },
    { agent: "copywriter", intent: "copy.draft", taskId: "t-2" },
  ],
  budget: { moneyMicros: 1_500_000n, tokens: 9_000_000_000_000_000_000n },
};

describe("encodeChain / decodeChain", () => {
  it.each<[string, DelegationChain]>([
    ["two hops with both budgets", twoHops],
    ["no hops and no budget", emptyChain],
    ["a money budget only", { hops: [], budget: { moneyMicros: 42n, tokens: undefined } }],
    ["a token budget only, negative", { hops: [{ agent: "a", intent: "x.y", taskId: "t" }], budget: { moneyMicros: undefined, tokens: -5n } }],
  ])("round-trips %s", (_name, chain) => {
    expect(decodeChain(encodeChain(chain))).toEqual(chain);
  });

  it("writes base64url JSON with version 1 and short keys", () => {
    const wire = JSON.parse(Buffer.from(encodeChain(twoHops), "base64url").toString("utf8")) as unknown;
    expect(wire).toEqual({
      v: 1,
      hops: [
        { a: "supervisor", i: "campaign.launch", t: "t-1" },
        { a: "copywriter", i: "copy.draft", t: "t-2" },
      ],
      m: "1500000",
      k: "9000000000000000000",
    });
  });

  it.each<[string, string | null]>([
    ["null", null],
    ["the empty string", ""],
  ])("returns the empty chain when the header is %s", (_name, value) => {
    expect(decodeChain(value)).toBe(emptyChain);
  });

  it.each<[string, string]>([
    ["not base64 JSON", "!!!not-json!!!"],
    ["JSON null", b64("null")],
    ["an unknown version", b64({ v: 2, hops: [] })],
    ["hops that are not an array", b64({ v: 1, hops: {} })],
    ["a hop missing its task id", b64({ v: 1, hops: [{ a: "a", i: "x.y" }] })],
    ["a hop with a numeric agent", b64({ v: 1, hops: [{ a: 7, i: "x.y", t: "t" }] })],
    ["a money budget that is not an integer", b64({ v: 1, hops: [], m: "1.5" })],
    ["a token budget of twenty digits", b64({ v: 1, hops: [], k: "12345678901234567890" })],
    ["a null budget", b64({ v: 1, hops: [], m: null })],
    ["a null hop", b64({ v: 1, hops: [null] })],
  ])("throws INVALID_ARGUMENT chain_malformed for %s", (_name, value) => {
    const err = connectErrorOf(() => decodeChain(value));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe("malformed agentmesh-chain header");
    expect(errorDetailOf(err)?.reason).toBe("chain_malformed");
  });
});

describe("extendChain", () => {
  it("appends the hop and replaces the budget, leaving the original chain untouched", () => {
    const hop = { agent: "segmenter", intent: "leads.segment", taskId: "t-3" };
    const budget = { moneyMicros: 100n, tokens: undefined };
    expect(extendChain(twoHops, hop, budget)).toEqual({ hops: [...twoHops.hops, hop], budget });
    expect(twoHops.hops).toHaveLength(2);
  });
});

describe("findCycle", () => {
  it.each<[string, string, string, DelegationChain["hops"][number] | undefined]>([
    ["the same agent and intent", "copywriter", "copy.draft", twoHops.hops[1]],
    ["the same agent with another intent", "copywriter", "copy.review", undefined],
    ["another agent with the same intent", "editor", "copy.draft", undefined],
  ])("finds %s", (_name, agent, intent, expected) => {
    expect(findCycle(twoHops, agent, intent)).toEqual(expected);
  });
});

describe("assertNoCycle", () => {
  it("passes when the agent has not executed the intent on the chain", () => {
    expect(() => assertNoCycle(twoHops, "supervisor", "campaign.review")).not.toThrow();
  });

  it("throws FAILED_PRECONDITION chain_cycle naming the whole path when a hop would repeat", () => {
    const chain: DelegationChain = {
      hops: [
        { agent: "a", intent: "x", taskId: "t-a" },
        { agent: "b", intent: "y", taskId: "t-b" },
      ],
      budget: emptyChain.budget,
    };
    const err = connectErrorOf(() => assertNoCycle(chain, "a", "x"));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe("delegation cycle: a is already executing x on this chain (a(x) -> b(y) -> a(x))");
    const detail = errorDetailOf(err);
    expect(detail?.reason).toBe("chain_cycle");
    expect(detail?.metadata).toEqual({ agent: "a", intent: "x", task_id: "t-a" });
  });
});

describe("minLimit", () => {
  it.each<[bigint | undefined, bigint | undefined, bigint | undefined]>([
    [undefined, undefined, undefined],
    [5n, undefined, 5n],
    [undefined, 7n, 7n],
    [5n, 7n, 5n],
    [7n, 5n, 5n],
    [0n, 3n, 0n],
    [-1n, 3n, -1n],
    [4n, 4n, 4n],
  ])("minLimit(%s, %s) is %s", (a, b, expected) => {
    expect(minLimit(a, b)).toBe(expected);
  });
});
