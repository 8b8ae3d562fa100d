import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { CostSchema } from "../../gen/agentmesh/v1/task_pb.js";
import { addCosts, preciseDuration, rollUp, zeroCost } from "./cost.js";

const duration = (seconds: bigint, nanos: number) => create(DurationSchema, { seconds, nanos });
const cost = (init: MessageInitShape<typeof CostSchema>) => create(CostSchema, init);

describe("preciseDuration", () => {
  it.each<[number, bigint, number]>([
    [0, 0n, 0],
    [1, 0n, 1_000_000],
    [999.999999, 0n, 999_999_999],
    [1000, 1n, 0],
    [1234.5678, 1n, 234_567_800],
    [0.000001, 0n, 1],
    [0.0000004, 0n, 0],
    [86_400_000.5, 86_400n, 500_000],
    [-1.5, 0n, -1_500_000],
    [-2500, -2n, -500_000_000],
  ])("turns %d ms into %d s and %d ns", (ms, seconds, nanos) => {
    const d = preciseDuration(ms);
    expect(d).toEqual(duration(seconds, nanos));
    expect(Number.isInteger(d.nanos)).toBe(true);
  });
});

describe("zeroCost", () => {
  it("is all zeros with a zero wall time", () => {
    expect(zeroCost()).toEqual(cost({ wallTime: duration(0n, 0) }));
  });
});

describe("addCosts", () => {
  it("sums sub-millisecond wall times exactly", () => {
    const c = create(CostSchema, { wallTime: preciseDuration(0.4) });
    expect(addCosts(c, c).wallTime).toEqual(preciseDuration(0.8));
    expect(addCosts(create(CostSchema, { wallTime: preciseDuration(1234.5678) })).wallTime).toMatchObject({ seconds: 1n, nanos: 234567800 });
  });

  it("sums every field, skipping undefined costs and costs without a wall time", () => {
    const a = cost({ inputTokens: 100n, outputTokens: 20n, moneyMicros: 1_500n, toolCalls: 2n, wallTime: duration(1n, 250_000_000) });
    const b = cost({ inputTokens: 5n, outputTokens: 1n, moneyMicros: 10n, toolCalls: 1n, wallTime: duration(0n, 750_000_000) });
    const c = cost({ inputTokens: 1n });
    expect(addCosts(a, undefined, b, c)).toEqual(
      cost({ inputTokens: 106n, outputTokens: 21n, moneyMicros: 1_510n, toolCalls: 3n, wallTime: duration(2n, 0) }),
    );
  });

  it("returns a zero cost for no costs", () => {
    expect(addCosts()).toEqual(zeroCost());
    expect(addCosts(undefined)).toEqual(zeroCost());
  });

  it("leaves its arguments unchanged", () => {
    const a = cost({ inputTokens: 1n, wallTime: duration(1n, 0) });
    addCosts(a, a);
    expect(a).toEqual(cost({ inputTokens: 1n, wallTime: duration(1n, 0) }));
  });
});

describe("rollUp", () => {
  it("adds the children's spend to the task's own, but keeps the task's own wall time", () => {
    const own = cost({ inputTokens: 10n, outputTokens: 2n, moneyMicros: 100n, toolCalls: 1n, wallTime: duration(3n, 0) });
    const children = [
      cost({ inputTokens: 20n, outputTokens: 4n, moneyMicros: 200n, toolCalls: 2n, wallTime: duration(2n, 0) }),
      undefined,
      cost({ inputTokens: 30n, outputTokens: 6n, moneyMicros: 300n, toolCalls: 3n, wallTime: duration(1n, 500_000_000) }),
    ];
    expect(rollUp(own, children)).toEqual(cost({ inputTokens: 60n, outputTokens: 12n, moneyMicros: 600n, toolCalls: 6n, wallTime: duration(3n, 0) }));
  });

  it("returns the task's own cost when it has no children", () => {
    const own = cost({ inputTokens: 7n, wallTime: duration(0n, 1) });
    expect(rollUp(own, [])).toEqual(own);
  });

  it("keeps an absent own wall time absent", () => {
    expect(rollUp(cost({ moneyMicros: 5n }), [cost({ moneyMicros: 1n, wallTime: duration(9n, 0) })])).toEqual(cost({ moneyMicros: 6n }));
  });
});
