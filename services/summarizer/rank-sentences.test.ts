import { describe, expect, it } from "vitest";
import { rankSentences } from "./rank-sentences.js";

describe("rankSentences", () => {
  const weights = new Map([
    ["leads", 1],
    ["convert", 0.5],
    ["churn", 0.25],
  ]);

  it("scores the mean term weight, rounded to 4 decimals, in input order", () => {
    expect(rankSentences(["Leads convert.", "Leads churn weekly.", "Leads.", "It is."], weights)).toEqual([
      0.75,
      Math.round(((1 + 0.25 + 0) / 3) * 10_000) / 10_000,
      1,
      0,
    ]);
  });

  it("returns no scores for no sentences", () => {
    expect(rankSentences([], weights)).toEqual([]);
  });
});
