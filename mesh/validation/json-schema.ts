/**
 * JSON Schema (draft 2020-12) validation with ajv for intent inputs, outputs and
 * success criteria. Compiled validators are cached by schema text, so a schema is
 * compiled once per process however often it is used.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ValidateFunction } from "ajv/dist/2020.js";
import ajvFormats from "ajv-formats";

/** One place where a value breaks its schema. */
export interface SchemaViolation {
  /** Dotted path below the validated value's name, e.g. "inputs.brief.tone". */
  readonly field: string;
  readonly description: string;
}

/** Validates values against schemas; see `createSchemaValidator`. */
export interface SchemaValidator {
  /**
   * Validates `value` against `schema` and returns the violations (empty when
   * valid), named below `root`. Throws when the schema itself is invalid.
   */
  validate(schema: Record<string, unknown>, value: unknown, root: string): SchemaViolation[];
  /** Compiles a schema now, so a bad schema fails at start rather than on a call. */
  compile(schema: Record<string, unknown>): void;
}

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = ((ajvFormats as unknown as { default?: unknown }).default ?? ajvFormats) as (ajv: Ajv2020) => Ajv2020;

/** Creates a validator with its own compiled-schema cache; reports every violation, not just the first. */
export function createSchemaValidator(): SchemaValidator {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const cache = new Map<string, ValidateFunction>();
  const compiled = (schema: Record<string, unknown>): ValidateFunction => {
    const key = JSON.stringify(schema);
    let fn = cache.get(key);
    if (fn === undefined) {
      fn = ajv.compile(schema);
      cache.set(key, fn);
    }
    return fn;
  };
  return {
    compile(schema) {
      compiled(schema);
    },
    validate(schema, value, root) {
      const fn = compiled(schema);
      if (fn(value)) {
        return [];
      }
      return (fn.errors ?? []).map((e) => {
        const path = e.instancePath.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
        if (e.keyword === "required" || e.keyword === "additionalProperties") {
          const prop = (e.params as { missingProperty?: string; additionalProperty?: string });
          path.push(prop.missingProperty ?? prop.additionalProperty ?? "");
        }
        const field = [root, ...path].join(".");
        const description = e.keyword === "additionalProperties" ? "is not allowed by the schema" : e.keyword === "required" ? "is required" : (e.message ?? "is invalid");
        return { field, description };
      });
    },
  };
}

/** Formats violations as one sentence for an error message. */
export function describeViolations(violations: readonly SchemaViolation[], max = 3): string {
  const shown = violations.slice(0, max).map((v) => `${v.field} ${v.description}`);
  const more = violations.length > max ? ` (and ${violations.length - max} more)` : "";
  return shown.join("; ") + more;
}
