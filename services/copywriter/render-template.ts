// The `template.render` tool.

/** Thrown when a template names a placeholder that has no value: a bug in the template, never retryable. */
export class TemplateRenderError extends Error {
  override readonly name = "TemplateRenderError";
  /** Rendering the same template again cannot succeed. */
  readonly retryable = false;
  constructor(readonly placeholder: string) {
    super(`template placeholder {${placeholder}} has no value`);
  }
}

const PLACEHOLDER = /\{([A-Za-z]+)\}/gu;

/**
 * Replaces each `{name}` in `template` with `values[name]` in one pass (so a value
 * containing braces is never expanded), then tidies the whitespace an empty value
 * leaves: runs of spaces become one, lines are trimmed, blank-line runs become one
 * blank line, and the result is trimmed.
 *
 * @throws TemplateRenderError when a placeholder has no value.
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>): string {
  const filled = template.replace(PLACEHOLDER, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new TemplateRenderError(name);
    return value;
  });
  return filled
    .split("\n")
    .map((line) => line.replace(/[ \t]+/gu, " ").trim())
    .join("\n")
    .replace(/\n{3,}/gu, "\n\n")
    .trim();
}
