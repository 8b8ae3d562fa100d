import type { ToolRunner } from "../../mesh/index.js";
import type { WorkEvidence, WorkOutcome } from "../shared/tool-result.js";
import { CsvFormatError } from "./csv-format-error.js";
import { evaluateRules } from "./evaluate-rules.js";
import {
  DEFAULT_SEGMENT,
  MAX_LEAD_ID_LENGTH,
  type LeadSegment,
  type RejectedRow,
  type RuleCondition,
  type SegmentLeadsInputs,
  type SegmentLeadsOutputs,
} from "./intent.js";
import { parseCsv, type CsvRecord } from "./parse-csv.js";

/**
 * Handles `leads.segment`: parses the CSV (`csv.parse`), rejects rows that cannot be
 * read or have the wrong number of fields, evaluates the rules over the accepted rows
 * (`rules.evaluate`) and groups lead ids by the first matching rule's segment, the
 * rest into `defaultSegment`. A lead's id is its `id` cell, else its `email` cell
 * (column names matched case-insensitively, values trimmed), else its line number.
 * Segments appear in rule order, then the default one; several rules may share one.
 * The two tool calls run through `tool`.
 *
 * Confidence is `(rows matched by a rule / rows accepted) × (rows accepted / rows read)`,
 * rounded to 4 decimals, and 0 when no row is accepted: low when the rules leave many
 * leads unsegmented or when many rows had to be rejected.
 *
 * @throws CsvFormatError when the CSV has no header row, or its header is unreadable,
 *   has an empty column name or repeats one.
 * @throws SegmentationRuleError when a rule names an unknown column or misuses `in`.
 */
export function segmentLeads(inputs: SegmentLeadsInputs, tool: ToolRunner): WorkOutcome<SegmentLeadsOutputs> {
  const defaultSegment = inputs.defaultSegment ?? DEFAULT_SEGMENT;
  const [head, ...records] = tool("csv.parse", () => parseCsv(inputs.csv));
  const header = readHeader(head);
  const idColumn = findColumn(header, "id");
  const emailColumn = findColumn(header, "email");

  const rejectedRows: RejectedRow[] = [];
  const accepted: { id: string; fields: string[] }[] = [];
  for (const record of records) {
    const reason = rejectionReason(record, header.length);
    if (reason !== undefined) {
      rejectedRows.push({ line: record.line, reason });
      continue;
    }
    const id = leadId(record.fields, idColumn, emailColumn, record.line);
    if (id.length > MAX_LEAD_ID_LENGTH) {
      rejectedRows.push({ line: record.line, reason: `lead id longer than ${MAX_LEAD_ID_LENGTH} characters` });
    } else accepted.push({ id, fields: record.fields });
  }

  const matches = tool("rules.evaluate", () => evaluateRules(inputs.rules, header, accepted.map((row) => row.fields)));
  const segments = new Map<string, LeadSegment>();
  for (const name of [...inputs.rules.map((rule) => rule.segment), defaultSegment]) {
    if (!segments.has(name)) segments.set(name, { name, count: 0, leadIds: [] });
  }
  const ruleHits = inputs.rules.map(() => 0);
  accepted.forEach((row, index) => {
    const ruleIndex = matches[index];
    const name = ruleIndex === undefined ? defaultSegment : (inputs.rules[ruleIndex]?.segment ?? defaultSegment);
    if (ruleIndex !== undefined) ruleHits[ruleIndex] = (ruleHits[ruleIndex] ?? 0) + 1;
    const segment = segments.get(name) as LeadSegment;
    segment.count += 1;
    segment.leadIds.push(row.id);
  });

  const rowCount = records.length;
  const matched = ruleHits.reduce((sum, hits) => sum + hits, 0);
  const confidence =
    accepted.length === 0
      ? 0
      : Math.round((matched / accepted.length) * (accepted.length / rowCount) * 10_000) / 10_000;
  const evidence: WorkEvidence[] = inputs.rules.map((rule, ruleIndex) => ({
    kind: "rule_match",
    description:
      `Rule ${ruleIndex} → ${JSON.stringify(rule.segment)} matched ${ruleHits[ruleIndex] ?? 0} ` +
      `of ${accepted.length} accepted rows`,
    excerpt: describeConditions(rule.when),
  }));
  if (rejectedRows.length > 0) {
    evidence.push({
      kind: "rejected_rows",
      description: `${rejectedRows.length} of ${rowCount} rows rejected`,
      excerpt: rejectedRows.slice(0, 5).map((row) => `line ${row.line}: ${row.reason}`).join("; "),
    });
  }
  return {
    outputs: { segments: [...segments.values()], rowCount, rejectedRows },
    rationale:
      `Read ${rowCount} data rows under ${header.length} columns; accepted ${accepted.length} and rejected ` +
      `${rejectedRows.length}. ${matched} matched one of ${inputs.rules.length} rules (first match wins); ` +
      `${accepted.length - matched} went to ${JSON.stringify(defaultSegment)}.`,
    evidence,
    confidence,
  };
}

function readHeader(head: CsvRecord | undefined): string[] {
  if (head === undefined) throw new CsvFormatError("the CSV has no header row");
  if (head.error !== undefined) throw new CsvFormatError(`the header row is unreadable: ${head.error}`);
  const header = head.fields.map((name) => name.trim());
  header.forEach((name, index) => {
    if (name === "") throw new CsvFormatError(`header column ${index + 1} has no name`);
    if (header.indexOf(name) !== index) throw new CsvFormatError(`header names column ${JSON.stringify(name)} twice`);
  });
  return header;
}

function rejectionReason(record: CsvRecord, columns: number): string | undefined {
  if (record.error !== undefined) return record.error;
  if (record.fields.length !== columns) return `expected ${columns} fields, found ${record.fields.length}`;
  return undefined;
}

function findColumn(header: readonly string[], name: string): number {
  return header.findIndex((column) => column.toLowerCase() === name);
}

function leadId(fields: readonly string[], idColumn: number, emailColumn: number, line: number): string {
  for (const column of [idColumn, emailColumn]) {
    const value = fields[column]?.trim() ?? "";
    if (value !== "") return value;
  }
  return String(line);
}

function describeConditions(when: readonly RuleCondition[]): string {
  if (when.length === 0) return "always";
  return when.map((c) => `${c.field} ${c.op} ${JSON.stringify(c.value)}`).join(" and ");
}
