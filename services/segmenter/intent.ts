// The `leads.segment` contract: what the registry advertises and what the mesh
// validates inputs and outputs against (JSON Schema draft 2020-12).

/** Intent name served by the segmenter. */
export const segmentLeadsIntent = "leads.segment";

/** One-line description for the agent card. */
export const segmentLeadsDescription =
  "Assigns each lead of a CSV export to the segment of the first rule whose conditions " +
  "all hold; rows that cannot be read are rejected with a reason.";

/** Comparison operators a condition can use. */
export const conditionOps = ["eq", "neq", "gt", "gte", "lt", "lte", "contains", "in"] as const;
/** A comparison operator. */
export type ConditionOp = (typeof conditionOps)[number];
/** A scalar a cell is compared with. */
export type ConditionScalar = string | number;

/** One test of one column. `in` takes a list; every other operator a scalar. */
export interface RuleCondition {
  field: string;
  op: ConditionOp;
  value: ConditionScalar | ConditionScalar[];
}

/** A segment and the conditions that must all hold for a lead to join it (none: every lead). */
export interface SegmentRule {
  segment: string;
  when: RuleCondition[];
}

/** Segment of leads no rule matched, when the inputs name none. */
export const DEFAULT_SEGMENT = "unsegmented";
/** Longest CSV accepted, in characters. */
export const MAX_CSV_LENGTH = 1_000_000;
/** Most rows a CSV of {@link MAX_CSV_LENGTH} can hold: each takes a character and a line break. */
export const MAX_ROWS = MAX_CSV_LENGTH / 2;
/** Longest lead id; rows with a longer one are rejected. */
export const MAX_LEAD_ID_LENGTH = 256;
/** Most rules per task. */
export const MAX_RULES = 50;

/** Inputs of `leads.segment`. */
export interface SegmentLeadsInputs {
  /** RFC 4180 CSV with a header row. */
  csv: string;
  /** Tried in order; the first whose conditions all hold wins. */
  rules: SegmentRule[];
  /** Default {@link DEFAULT_SEGMENT}. */
  defaultSegment?: string;
}

/** One segment and its leads, in CSV order. */
export interface LeadSegment {
  name: string;
  count: number;
  leadIds: string[];
}

/** A data row that was not segmented, and why. */
export interface RejectedRow {
  /** 1-based line on which the row starts. */
  line: number;
  reason: string;
}

/** Outputs of `leads.segment`. */
export interface SegmentLeadsOutputs {
  /** Rule segments in rule order, then the default segment; empty ones included. */
  segments: LeadSegment[];
  /** Data rows read (accepted and rejected), header and blank lines excluded. */
  rowCount: number;
  rejectedRows: RejectedRow[];
}

const scalar = { oneOf: [{ type: "string", maxLength: 256 }, { type: "number" }] };
const segmentName = { type: "string", minLength: 1, maxLength: 64 };

/** JSON Schema of {@link SegmentLeadsInputs}. */
export const segmentLeadsInputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "leads.segment inputs",
  type: "object",
  additionalProperties: false,
  required: ["csv", "rules"],
  properties: {
    csv: { type: "string", minLength: 1, maxLength: MAX_CSV_LENGTH },
    rules: {
      type: "array",
      maxItems: MAX_RULES,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["segment", "when"],
        properties: {
          segment: segmentName,
          when: {
            type: "array",
            maxItems: 20,
            items: {
              type: "object",
              additionalProperties: false,
              required: ["field", "op", "value"],
              properties: {
                field: { type: "string", minLength: 1, maxLength: 128 },
                op: { enum: [...conditionOps] },
                value: { oneOf: [...scalar.oneOf, { type: "array", maxItems: 100, items: scalar }] },
              },
            },
          },
        },
      },
    },
    defaultSegment: { ...segmentName, default: DEFAULT_SEGMENT },
  },
};

/** JSON Schema of {@link SegmentLeadsOutputs}. */
export const segmentLeadsOutputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "leads.segment outputs",
  type: "object",
  additionalProperties: false,
  required: ["segments", "rowCount", "rejectedRows"],
  properties: {
    segments: {
      type: "array",
      maxItems: MAX_RULES + 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "count", "leadIds"],
        properties: {
          name: segmentName,
          count: { type: "integer", minimum: 0, maximum: MAX_ROWS },
          leadIds: {
            type: "array",
            maxItems: MAX_ROWS,
            items: { type: "string", minLength: 1, maxLength: MAX_LEAD_ID_LENGTH },
          },
        },
      },
    },
    rowCount: { type: "integer", minimum: 0, maximum: MAX_ROWS },
    rejectedRows: {
      type: "array",
      maxItems: MAX_ROWS,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["line", "reason"],
        properties: {
          line: { type: "integer", minimum: 1 },
          reason: { type: "string", minLength: 1, maxLength: 200 },
        },
      },
    },
  },
};
