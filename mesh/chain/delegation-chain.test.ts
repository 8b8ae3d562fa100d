import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { thrown } from "../../test/support/rejection.js";
import { errorDetailOf } from "../errors.js";
import { assertNoCycle, chainFromJson, chainToJson, emptyChain, extendChain, findCycle, minLimit } from "./delegation-chain.js";
import type { DelegationChain } from "./delegation-chain.js";

const twoHops: DelegationChain = {
  hops: [
    { agent: "supervisor", intent: "campaign.launch", taskId: "t-1" },
    { agent: "copywriter", intent: "copy.draft", taskId: "t-2" },
  ],
  budget: { moneyMicros: 1_500_000n, tokens: 9_000_000_000_000_000_000n },
};

describe("chainToJson / chainFromJson", () => {
  it.each<[string, DelegationChain]>([
    ["two hops with both budgets", twoHops],
    ["no hops and no budget", emptyChain],
    ["a money budget only", { hops: [], budget: { moneyMicros: 42n, tokens: undefined } }],
    ["a token budget only, negative", { hops: [{ agent: "a", intent: "x.y", taskId: "t" }], budget: { moneyMicros: undefined, tokens: -5n } }],
  ])("round-trips %s, through JSON text too", (_name, chain) => {
    expect(chainFromJson(JSON.parse(JSON.stringify(chainToJson(chain))))).toEqual(chain);
  });

  it("writes version 1 with short keys and budgets as decimal strings", () => {
    expect(chainToJson(twoHops)).toEqual({
      v: 1,
      hops: [
        { a: "supervisor", i: "campaign.launch", t: "t-1" },
        { a: "copywriter", i: "copy.draft", t: "t-2" },
      ],
      m: "1500000",
      k: "9000000000000000000",
    });
  });

  it.each<[string, unknown, string]>([
    ["null", null, "not a version 1 chain"],
    ["a string", "eyJ2IjoxfQ", "not a version 1 chain"],
    ["an unknown version", { v: 2, hops: [] }, "not a version 1 chain"],
    ["hops that are not an array", { v: 1, hops: {} }, "not a version 1 chain"],
    ["a hop missing its task id", { v: 1, hops: [{ a: "a", i: "x.y" }] }, "a hop needs string agent, intent and task id"],
    ["a hop with a numeric agent", { v: 1, hops: [{ a: 7, i: "x.y", t: "t" }] }, "a hop needs string agent, intent and task id"],
    ["a null hop", { v: 1, hops: [null] }, "a hop needs string agent, intent and task id"],
    ["a money budget that is not an integer", { v: 1, hops: [], m: "1.5" }, "a budget must be an integer of at most 19 digits"],
    ["a numeric money budget", { v: 1, hops: [], m: 15 }, "a budget must be an integer of at most 19 digits"],
    ["a token budget of twenty digits", { v: 1, hops: [], k: "12345678901234567890" }, "a budget must be an integer of at most 19 digits"],
    ["a null budget", { v: 1, hops: [], m: null }, "a budget must be an integer of at most 19 digits"],
  ])("throws for %s, saying what is wrong", (_name, value, message) => {
    expect(() => chainFromJson(value)).toThrow(new Error(message));
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
    const err = thrown(() => assertNoCycle(chain, "a", "x"));
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
