/** The segmenter agent: offers `leads.segment`. */
import { Code } from "@connectrpc/connect";
import { defineIntent, startAgent } from "../../mesh/index.js";
import type { RunningAgent } from "../../mesh/index.js";
import { withDomainErrors } from "../shared/domain-error.js";
import type { ServiceConfig } from "../shared/service-config.js";
import { tool } from "../shared/tools.js";
import { CsvFormatError, SegmentationRuleError, segmentLeads, segmentLeadsDescription, segmentLeadsInputSchema, segmentLeadsIntent, segmentLeadsOutputSchema } from "./index.js";
import type { SegmentLeadsInputs, SegmentLeadsOutputs } from "./index.js";

/** The `leads.segment` intent; a rule on an unknown column or unreadable CSV fails the task with INVALID_ARGUMENT. */
export const segmentLeadsDefinition = defineIntent<SegmentLeadsInputs, SegmentLeadsOutputs>({
  name: segmentLeadsIntent,
  description: segmentLeadsDescription,
  inputSchema: segmentLeadsInputSchema,
  outputSchema: segmentLeadsOutputSchema,
  tools: ["csv.parse", "rules.evaluate"],
  requiredScopes: ["leads:read"],
  handle: (inputs, ctx) =>
    withDomainErrors(() => segmentLeads(inputs, ctx.tool), [
      [SegmentationRuleError, Code.InvalidArgument, "segmentation_rule_invalid"],
      [CsvFormatError, Code.InvalidArgument, "csv_invalid"],
    ]),
});

/** Starts the segmenter. */
export function startSegmenter(config: ServiceConfig): Promise<RunningAgent> {
  return startAgent({
    name: "segmenter",
    description: "Segments a CSV of leads by ordered rules.",
    version: "0.1.0",
    role: "worker",
    intents: [segmentLeadsDefinition as never],
    tools: [tool("csv.parse", "Parses RFC 4180 CSV."), tool("rules.evaluate", "Evaluates segmentation rules on a row.")],
    scopes: ["leads:read", "tool:csv.parse", "tool:rules.evaluate"],
    config,
  });
}
