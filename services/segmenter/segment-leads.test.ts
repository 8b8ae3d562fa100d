import { Ajv2020 } from "ajv/dist/2020.js";
import { beforeEach, describe, expect, it } from "vitest";
import { recordToolCalls } from "../shared/record-tool-calls.js";
import { CsvFormatError } from "./csv-format-error.js";
import { segmentLeadsOutputSchema, type SegmentRule } from "./intent.js";
import { segmentLeads as segmentLeadsWith } from "./segment-leads.js";
import { SegmentationRuleError } from "./segmentation-rule-error.js";

const validateOutputs = new Ajv2020({ strict: true }).compile(segmentLeadsOutputSchema);

const csv = [
  "id,email,company,country,employees",
  "L1,ann@acme.test,Acme,US,800",
  'L2,bob@globex.test,"Globex, Inc.",US,40',
  'L3,cy@initech.test,"Initech',
  'Holdings",DE,1200',
  "L4,dee@hooli.test,Hooli,FR",
  ',eve@umbrella.test,"Umbrella ""Bio""",FR,3',
  "",
  "L6,fay@wayne.test,Wayne,BR,15",
].join("\r\n");

const rules: SegmentRule[] = [
  { segment: "enterprise", when: [{ field: "employees", op: "gte", value: 500 }] },
  { segment: "us-smb", when: [{ field: "country", op: "eq", value: "US" }, { field: "employees", op: "lt", value: "500" }] },
  { segment: "europe", when: [{ field: "country", op: "in", value: ["DE", "FR", "ES"] }] },
];

// Runs the tools directly and records their names (the mesh would trace and count them).
let record = recordToolCalls();
beforeEach(() => {
  record = recordToolCalls();
});
const segmentLeads = (inputs: Parameters<typeof segmentLeadsWith>[0]) => segmentLeadsWith(inputs, record.tool);

describe("segmentLeads", () => {
  it("segments quoted, multi-line CSV by first matching rule and rejects short rows", () => {
    const outcome = segmentLeads({ csv, rules });
    expect(outcome).toEqual({
      outputs: {
        segments: [
          { name: "enterprise", count: 2, leadIds: ["L1", "L3"] },
          { name: "us-smb", count: 1, leadIds: ["L2"] },
          { name: "europe", count: 1, leadIds: ["eve@umbrella.test"] },
          { name: "unsegmented", count: 1, leadIds: ["L6"] },
        ],
        rowCount: 6,
        rejectedRows: [{ line: 6, reason: "expected 5 fields, found 4" }],
      },
      rationale:
        'Read 6 data rows under 5 columns; accepted 5 and rejected 1. 4 matched one of 3 rules (first match wins); 1 went to "unsegmented".',
      evidence: [
        { kind: "rule_match", description: 'Rule 0 → "enterprise" matched 2 of 5 accepted rows', excerpt: "employees gte 500" },
        {
          kind: "rule_match",
          description: 'Rule 1 → "us-smb" matched 1 of 5 accepted rows',
          excerpt: 'country eq "US" and employees lt "500"',
        },
        { kind: "rule_match", description: 'Rule 2 → "europe" matched 1 of 5 accepted rows', excerpt: 'country in ["DE","FR","ES"]' },
        { kind: "rejected_rows", description: "1 of 6 rows rejected", excerpt: "line 6: expected 5 fields, found 4" },
      ],
      // (4 matched / 5 accepted) × (5 accepted / 6 read)
      confidence: 0.6667,
    });
    expect(record.calls).toEqual(["csv.parse", "rules.evaluate"]);
    expect(validateOutputs(outcome.outputs)).toBe(true);
  });

  it.each([
    ["the id column", "ID,Email,x\nA7,a@x.test,1\n", ["A7"]],
    ["the email column when the id is blank", "id,email,x\n  ,a@x.test,1\n", ["a@x.test"]],
    ["the email column when there is no id column", "Email,x\na@x.test,1\n", ["a@x.test"]],
    ["the line number when neither has a value", "id,email,x\n\n,,1\n", ["3"]],
    ["the line number when neither column exists", "name,x\nAnn,1\n", ["2"]],
  ])("takes the lead id from %s", (_name, text, leadIds) => {
    const outcome = segmentLeads({ csv: text, rules: [] });
    expect(outcome.outputs.segments).toEqual([{ name: "unsegmented", count: leadIds.length, leadIds }]);
  });

  it("names the default segment, merges rules sharing a segment and lists empty segments", () => {
    const outcome = segmentLeads({
      csv: "id,score\na,90\nb,10\nc,50\n",
      rules: [
        { segment: "hot", when: [{ field: "score", op: "gt", value: 80 }] },
        { segment: "cold", when: [{ field: "score", op: "lt", value: 0 }] },
        { segment: "hot", when: [{ field: "score", op: "eq", value: 50 }] },
        { segment: "rest", when: [{ field: "score", op: "lt", value: 20 }] },
      ],
      defaultSegment: "rest",
    });
    expect(outcome.outputs.segments).toEqual([
      { name: "hot", count: 2, leadIds: ["a", "c"] },
      { name: "cold", count: 0, leadIds: [] },
      { name: "rest", count: 1, leadIds: ["b"] },
    ]);
    expect(outcome.confidence).toBe(1);
  });

  it("rejects unreadable rows and overlong ids with the line they start on", () => {
    const longId = "x".repeat(257);
    const outcome = segmentLeads({ csv: `id,v\n"a"b,1\n${longId},2\nok,3\n"open,4\n`, rules: [] });
    expect(outcome.outputs).toEqual({
      segments: [{ name: "unsegmented", count: 1, leadIds: ["ok"] }],
      rowCount: 4,
      rejectedRows: [
        { line: 2, reason: "text after the closing quote of field 1" },
        { line: 3, reason: "lead id longer than 256 characters" },
        { line: 5, reason: "quoted field 1 is not closed before the end of the input" },
      ],
    });
    // No rule matched anything: (0 / 1) × (1 / 4).
    expect(outcome.confidence).toBe(0);
  });

  it("returns empty segments and confidence 0 for a header without rows", () => {
    const outcome = segmentLeads({ csv: "id,email\r\n", rules: [{ segment: "all", when: [] }] });
    expect(outcome.outputs).toEqual({
      segments: [
        { name: "all", count: 0, leadIds: [] },
        { name: "unsegmented", count: 0, leadIds: [] },
      ],
      rowCount: 0,
      rejectedRows: [],
    });
    expect(outcome.confidence).toBe(0);
  });

  it("throws a SegmentationRuleError for a rule naming an unknown column", () => {
    const run = (): unknown =>
      segmentLeads({ csv, rules: [...rules, { segment: "x", when: [{ field: "Country", op: "eq", value: "US" }] }] });
    expect(run).toThrow(SegmentationRuleError);
    expect(run).toThrow(
      new SegmentationRuleError(
        'rule 3 (segment "x") names unknown column "Country"; the CSV has "id", "email", "company", "country", "employees"',
        3,
        "Country",
        "unknown_column",
      ),
    );
  });

  it.each([
    ["no header row", "\n\n", "the CSV has no header row"],
    ["an unreadable header", '"id,email\n', "the header row is unreadable: quoted field 1 is not closed before the end of the input"],
    ["an empty column name", "id,,email\n", "header column 2 has no name"],
    ["a repeated column name", "id, email,email \n", 'header names column "email" twice'],
  ])("throws a CsvFormatError for %s", (_name, text, message) => {
    expect(() => segmentLeads({ csv: text, rules: [] })).toThrow(CsvFormatError);
    expect(() => segmentLeads({ csv: text, rules: [] })).toThrow(new CsvFormatError(message));
  });
});
