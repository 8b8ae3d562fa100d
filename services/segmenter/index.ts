// Public API of the segmenter worker: the `leads.segment` contract and its tools.
export { segmentLeads } from "./segment-leads.js";
export { parseCsv, type CsvRecord } from "./parse-csv.js";
export { evaluateRules } from "./evaluate-rules.js";
export { matchCondition, parseNumber } from "./match-condition.js";
export { CsvFormatError } from "./csv-format-error.js";
export { SegmentationRuleError, type SegmentationRuleProblem } from "./segmentation-rule-error.js";
export {
  segmentLeadsIntent,
  segmentLeadsDescription,
  segmentLeadsInputSchema,
  segmentLeadsOutputSchema,
  conditionOps,
  DEFAULT_SEGMENT,
  MAX_CSV_LENGTH,
  MAX_LEAD_ID_LENGTH,
  MAX_ROWS,
  MAX_RULES,
  type ConditionOp,
  type ConditionScalar,
  type LeadSegment,
  type RejectedRow,
  type RuleCondition,
  type SegmentLeadsInputs,
  type SegmentLeadsOutputs,
  type SegmentRule,
} from "./intent.js";
