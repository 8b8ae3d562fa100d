import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { thrown } from "../../test/support/rejection.js";
import { ConstraintsSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { errorDetailOf } from "../errors.js";
import { admitChain, defaultChainLimits } from "./chain-limits.js";
import type { Budget, ChainHop, DelegationChain } from "./delegation-chain.js";

const unlimited: Budget = { moneyMicros: undefined, tokens: undefined };
const hop = (agent: string, n: number): ChainHop => ({ agent, intent: `step.n${n}`, taskId: `t-${n}` });
const chainOf = (hops: ChainHop[], budget: Budget = unlimited): DelegationChain => ({ hops, budget });
const constraints = (init: MessageInitShape<typeof ConstraintsSchema>) => create(ConstraintsSchema, init);

describe("admitChain", () => {
  it("admits a direct call (no hops) with an unlimited budget", () => {
    expect(admitChain(chainOf([]), undefined, defaultChainLimits)).toEqual({ hops: [], budget: unlimited });
  });

  it("admits a proven chain as it is when the request sets no caps", () => {
    const hops = [hop("supervisor", 1), hop("copywriter", 2)];
    expect(admitChain(chainOf(hops), undefined, defaultChainLimits)).toEqual({ hops, budget: unlimited });
  });

  it.each([
    [0, 0, true],
    [0, 1, false],
    [4, 4, true],
    [4, 5, false],
  ])("with maxDepth %i, a chain of %i hops is admitted: %s", (maxDepth, depth, admitted) => {
    const hops = Array.from({ length: depth }, (_, i) => hop("supervisor", i));
    const run = () => admitChain(chainOf(hops), undefined, { maxDepth });
    if (admitted) {
      expect(run()).toEqual({ hops, budget: unlimited });
      return;
    }
    const err = thrown(run);
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe(`delegation chain depth ${depth} exceeds the limit of ${maxDepth}`);
    const detail = errorDetailOf(err);
    expect(detail?.reason).toBe("chain_too_deep");
    expect(detail?.metadata).toEqual({ depth: String(depth), limit: String(maxDepth) });
  });

  it.each<[string, Budget, MessageInitShape<typeof ConstraintsSchema> | undefined, Budget]>([
    ["no limits anywhere", unlimited, undefined, unlimited],
    ["only the chain's budget", { moneyMicros: 500n, tokens: 1000n }, undefined, { moneyMicros: 500n, tokens: 1000n }],
    ["only the request's caps", unlimited, { maxCostMicros: 300n, maxTokens: 2000n }, { moneyMicros: 300n, tokens: 2000n }],
    ["a chain budget below the caps", { moneyMicros: 200n, tokens: 100n }, { maxCostMicros: 300n, maxTokens: 2000n }, { moneyMicros: 200n, tokens: 100n }],
    ["caps below the chain budget", { moneyMicros: 900n, tokens: 9000n }, { maxCostMicros: 300n, maxTokens: 2000n }, { moneyMicros: 300n, tokens: 2000n }],
    ["one of each smaller", { moneyMicros: 900n, tokens: 100n }, { maxCostMicros: 300n, maxTokens: 2000n }, { moneyMicros: 300n, tokens: 100n }],
    ["zero caps, which mean no cap", { moneyMicros: 900n, tokens: undefined }, { maxCostMicros: 0n, maxTokens: 0n }, { moneyMicros: 900n, tokens: undefined }],
    ["negative caps, which mean no cap", unlimited, { maxCostMicros: -5n, maxTokens: -5n }, unlimited],
  ])("budgets the task with %s", (_name, chainBudget, caps, expected) => {
    const hops = [hop("supervisor", 1)];
    const admitted = admitChain(chainOf(hops, chainBudget), caps === undefined ? undefined : constraints(caps), defaultChainLimits);
    expect(admitted).toEqual({ hops, budget: expected });
  });

  it.each<[string, Budget, string, string]>([
    ["no money left", { moneyMicros: 0n, tokens: undefined }, "0", "unlimited"],
    ["a negative money budget", { moneyMicros: -10n, tokens: 50n }, "-10", "50"],
    ["no tokens left", { moneyMicros: 50n, tokens: 0n }, "50", "0"],
    ["a negative token budget", { moneyMicros: undefined, tokens: -1n }, "100", "-1"],
  ])("throws FAILED_PRECONDITION budget_exhausted with %s", (_name, budget, money, tokens) => {
    // The request caps money at 100 micros: a chain with no money limit is budgeted 100.
    const err = thrown(() => admitChain(chainOf([hop("supervisor", 1)], budget), constraints({ maxCostMicros: 100n }), defaultChainLimits));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe("the delegation chain has no budget left for this task");
    const detail = errorDetailOf(err);
    expect(detail?.reason).toBe("budget_exhausted");
    expect(detail?.metadata).toEqual({ money_micros: money, tokens });
  });
});
