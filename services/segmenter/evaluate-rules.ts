// The `rules.evaluate` tool.
import type { SegmentRule } from "./intent.js";
import { matchCondition } from "./match-condition.js";
import { SegmentationRuleError } from "./segmentation-rule-error.js";

/** Most column names quoted in an unknown-column message. */
const LISTED_COLUMNS = 20;

/**
 * Finds, for each row, the index of the first rule whose conditions all hold (a
 * rule without conditions holds for every row), or undefined when none does. Every
 * rule is checked against the header before any row is read, so a bad rule fails
 * the whole call even if an earlier rule would have matched every row.
 *
 * @throws SegmentationRuleError when a condition names a column missing from
 *   `header`, or gives `in` a scalar or another operator a list.
 */
export function evaluateRules(
  rules: readonly SegmentRule[],
  header: readonly string[],
  rows: readonly (readonly string[])[],
): (number | undefined)[] {
  const compiled = rules.map((rule, ruleIndex) =>
    rule.when.map((condition) => {
      const column = header.indexOf(condition.field);
      if (column === -1) {
        const known = header.slice(0, LISTED_COLUMNS).map((name) => JSON.stringify(name)).join(", ");
        const more = header.length > LISTED_COLUMNS ? ", …" : "";
        throw new SegmentationRuleError(
          `rule ${ruleIndex} (segment ${JSON.stringify(rule.segment)}) names unknown column ` +
            `${JSON.stringify(condition.field)}; the CSV has ${known}${more}`,
          ruleIndex,
          condition.field,
          "unknown_column",
        );
      }
      if ((condition.op === "in") !== Array.isArray(condition.value)) {
        throw new SegmentationRuleError(
          `rule ${ruleIndex} (segment ${JSON.stringify(rule.segment)}) tests column ` +
            `${JSON.stringify(condition.field)} with "${condition.op}", which takes ` +
            `${condition.op === "in" ? "a list" : "a single value"}`,
          ruleIndex,
          condition.field,
          "value_shape",
        );
      }
      return { column, op: condition.op, value: condition.value };
    }),
  );
  return rows.map((row) => {
    const index = compiled.findIndex((conditions) =>
      conditions.every(({ column, op, value }) => matchCondition(row[column] ?? "", op, value)),
    );
    return index === -1 ? undefined : index;
  });
}
