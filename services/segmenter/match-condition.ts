import type { ConditionOp, ConditionScalar } from "./intent.js";

// Decimal numbers as spreadsheets export them: sign, digits, point, exponent.
// Stricter than Number(), which also reads "", "0x1F" and "Infinity".
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/u;

/** Reads a cell or rule value as a number, when it is one. */
export function parseNumber(value: ConditionScalar): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  const text = value.trim();
  return NUMBER.test(text) ? Number(text) : undefined;
}

/**
 * Tests one cell against one condition. The cell is trimmed. When both sides read
 * as numbers they compare as numbers ("10" eq 10.0, "9" lt "10"); otherwise as
 * strings: `eq`, `neq` and `in` exactly, the ordering operators by UTF-16 code
 * units (so ISO dates order correctly), `contains` case-insensitively. An empty
 * cell is a missing value: no ordering operator holds for it. `in` holds when the
 * cell equals any listed value. The caller checks the value's shape beforehand.
 */
export function matchCondition(
  cell: string,
  op: ConditionOp,
  value: ConditionScalar | readonly ConditionScalar[],
): boolean {
  const text = cell.trim();
  if (op === "in") return isList(value) && value.some((item) => equals(text, item));
  if (isList(value)) return false;
  const scalar = value;
  switch (op) {
    case "eq":
      return equals(text, scalar);
    case "neq":
      return !equals(text, scalar);
    case "contains":
      return text.toLowerCase().includes(String(scalar).toLowerCase());
    case "gt":
      return text !== "" && compare(text, scalar) > 0;
    case "gte":
      return text !== "" && compare(text, scalar) >= 0;
    case "lt":
      return text !== "" && compare(text, scalar) < 0;
    case "lte":
      return text !== "" && compare(text, scalar) <= 0;
  }
}

// Array.isArray narrows a readonly array to any[]; this keeps the element type.
function isList(value: ConditionScalar | readonly ConditionScalar[]): value is readonly ConditionScalar[] {
  return Array.isArray(value);
}

function equals(text: string, value: ConditionScalar): boolean {
  const left = parseNumber(text);
  const right = parseNumber(value);
  if (left !== undefined && right !== undefined) return left === right;
  return text === String(value);
}

function compare(text: string, value: ConditionScalar): number {
  const left = parseNumber(text);
  const right = parseNumber(value);
  if (left !== undefined && right !== undefined) return Math.sign(left - right);
  const other = String(value);
  return text < other ? -1 : text > other ? 1 : 0;
}
