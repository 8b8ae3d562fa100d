import { Ajv2020 } from "ajv/dist/2020.js";
import { beforeEach, describe, expect, it } from "vitest";
import { recordToolCalls } from "../shared/record-tool-calls.js";
import { summarizeOutputSchema } from "./intent.js";
import { summarize as summarizeWith } from "./summarize.js";

const validateOutputs = new Ajv2020({ strict: true }).compile(summarizeOutputSchema);

const documents = [
  {
    title: "Launch",
    text:
      "Acme launches a new analytics dashboard for marketing teams. The dashboard tracks campaign " +
      "spend in real time. Pricing starts at $49 per month.\n\nTeams can export dashboard reports to CSV.",
  },
  {
    title: "Feedback",
    text: "Beta users praised the dashboard. Some users asked for campaign alerts. Support is available by email.",
  },
];

// Runs the tools directly and records their names (the mesh would trace and count them).
let record = recordToolCalls();
beforeEach(() => {
  record = recordToolCalls();
});
const summarize = (inputs: Parameters<typeof summarizeWith>[0]) => summarizeWith(inputs, record.tool);

describe("summarize", () => {
  it("keeps the best sentences across documents in reading order", () => {
    const outcome = summarize({ documents, maxSentences: 2 });
    expect(outcome).toEqual({
      outputs: {
        summary: "Teams can export dashboard reports to CSV. Beta users praised the dashboard.",
        keyTerms: ["dashboard", "teams", "campaign", "users", "acme", "launches", "new", "analytics"],
        sentences: [
          { documentIndex: 0, text: "Teams can export dashboard reports to CSV.", score: 0.45 },
          { documentIndex: 1, text: "Beta users praised the dashboard.", score: 0.5 },
        ],
      },
      rationale:
        "Split 2 documents into 7 sentences and weighted 26 non-stopword terms by normalised frequency; " +
        "kept the 2 highest-scoring sentences (mean term weight) in original order. Key terms: dashboard, " +
        "teams, campaign, users, acme, launches, new, analytics. The kept sentences cover 57% of the key-term weight.",
      evidence: [
        {
          kind: "source_sentence",
          description: 'Sentence 4 of document 0 ("Launch"), score 0.45',
          excerpt: "Teams can export dashboard reports to CSV.",
        },
        {
          kind: "source_sentence",
          description: 'Sentence 1 of document 1 ("Feedback"), score 0.5',
          excerpt: "Beta users praised the dashboard.",
        },
      ],
      // Key weights: dashboard 1 (4 uses), teams, campaign, users .5, four more at .25: 3.5 in all;
      // the kept sentences hold dashboard, teams and users: 2 / 3.5.
      confidence: 0.5714,
    });
    expect(record.calls).toEqual(["text.split-sentences", "text.split-sentences", "text.rank-sentences", "text.rank-sentences"]);
    expect(validateOutputs(outcome.outputs)).toBe(true);
  });

  it("defaults to 3 sentences", () => {
    // Scores: 0.4167 (6 terms, 2.5 in all), 0.45 and 0.5 beat 0.375 for the campaign alerts sentence.
    expect(summarize({ documents }).outputs.sentences).toEqual([
      { documentIndex: 0, text: "The dashboard tracks campaign spend in real time.", score: 0.4167 },
      { documentIndex: 0, text: "Teams can export dashboard reports to CSV.", score: 0.45 },
      { documentIndex: 1, text: "Beta users praised the dashboard.", score: 0.5 },
    ]);
  });

  it("returns every scorable sentence when fewer than asked for, in reading order", () => {
    const outcome = summarize({
      documents: [{ title: "t", text: "Leads convert. It is. Leads churn." }],
      maxSentences: 20,
    });
    expect(outcome.outputs).toEqual({
      summary: "Leads convert. Leads churn.",
      keyTerms: ["leads", "convert", "churn"],
      sentences: [
        { documentIndex: 0, text: "Leads convert.", score: 0.75 },
        { documentIndex: 0, text: "Leads churn.", score: 0.75 },
      ],
    });
    expect(outcome.confidence).toBe(1);
  });

  it("breaks score ties in favour of the earlier sentence", () => {
    const outcome = summarize({
      documents: [{ title: "t", text: "Leads convert. Leads churn." }],
      maxSentences: 1,
    });
    expect(outcome.outputs.sentences).toEqual([{ documentIndex: 0, text: "Leads convert.", score: 0.75 }]);
    expect(outcome.confidence).toBe(0.75);
  });

  it.each([
    ["no documents", []],
    ["documents with blank text", [{ title: "Empty", text: "" }, { title: "Blank", text: " \n\n " }]],
    ["documents with stopwords only", [{ title: "Filler", text: "It is what it is. So be it." }]],
  ])("returns an empty summary with confidence 0 for %s", (_name, docs) => {
    const outcome = summarize({ documents: docs });
    expect(outcome.outputs).toEqual({ summary: "", keyTerms: [], sentences: [] });
    expect(outcome.evidence).toEqual([]);
    expect(outcome.confidence).toBe(0);
    expect(record.calls).toEqual([...docs.map(() => "text.split-sentences"), ...docs.map(() => "text.rank-sentences")]);
    expect(validateOutputs(outcome.outputs)).toBe(true);
  });

  it("says why an empty summary is empty", () => {
    expect(summarize({ documents: [{ title: "Empty", text: "" }] }).rationale).toBe(
      "Split 1 document into 0 sentences; no sentence has a scorable term, so the summary is empty.",
    );
  });

  it.each([0, 21, 2.5])("throws a RangeError for maxSentences %s", (maxSentences) => {
    expect(() => summarize({ documents, maxSentences })).toThrow(
      new RangeError(`maxSentences must be an integer from 1 to 20, got ${maxSentences}`),
    );
  });
});
