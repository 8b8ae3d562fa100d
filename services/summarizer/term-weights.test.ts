import { describe, expect, it } from "vitest";
import { computeTermWeights } from "./term-weights.js";

describe("computeTermWeights", () => {
  it("divides each count by the top count, heaviest first, ties in first-appearance order", () => {
    const weights = computeTermWeights(["Leads convert.", "Leads churn. Leads convert.", "Churn hurts."]);
    expect([...weights]).toEqual([
      ["leads", 1],
      ["convert", 2 / 3],
      ["churn", 2 / 3],
      ["hurts", 1 / 3],
    ]);
  });

  it("returns an empty map when there is no term", () => {
    expect([...computeTermWeights(["", "It is what it is."])]).toEqual([]);
  });
});
