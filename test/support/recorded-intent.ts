/**
 * A real service's intent (the publisher's `content.publish`, the summarizer's
 * `docs.summarize`, ...) whose handler also writes to an execution log, so a test
 * can tell whether the mesh let it run, and how often.
 */
import type { IntentDefinition } from "../../mesh/index.js";
import { record } from "./test-intents.js";
import type { ExecutionLog } from "./test-intents.js";

/** `definition` unchanged but for its handler, which records the task id in `log` before it runs. */
export function recorded<I, O>(definition: IntentDefinition<I, O>, log: ExecutionLog): IntentDefinition<never, never> {
  const handle: IntentDefinition<I, O>["handle"] = (inputs, ctx) => {
    record(log, ctx.taskId);
    return definition.handle(inputs, ctx);
  };
  return { ...definition, handle } as unknown as IntentDefinition<never, never>;
}
