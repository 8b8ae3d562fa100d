/** The supervisor agent: offers `campaign.launch`, planning and delegating the work. */
import { createSchemaValidator, defineIntent, startAgent } from "../../mesh/index.js";
import type { RunningAgent } from "../../mesh/index.js";
import type { ServiceConfig } from "../shared/service-config.js";
import { launchCampaignInputSchema, launchCampaignIntent, launchCampaignOutputSchema } from "./intent.js";
import type { LaunchCampaignInputs, LaunchCampaignOutputs } from "./intent.js";
import { launchCampaign } from "./launch-campaign.js";
import { productLaunchPlan } from "./plan-templates.js";

const reviewSchemas = createSchemaValidator();

/** The `campaign.launch` intent. */
export const launchCampaignDefinition = defineIntent<LaunchCampaignInputs, LaunchCampaignOutputs>({
  name: launchCampaignIntent,
  description: "Turns a campaign goal into a plan (copy, segmentation, publishing), delegates it and reviews every result.",
  inputSchema: launchCampaignInputSchema,
  outputSchema: launchCampaignOutputSchema,
  tools: [],
  requiredScopes: ["campaign:plan"],
  handle: (inputs, ctx) => launchCampaign(inputs, ctx, productLaunchPlan, reviewSchemas),
});

/** Starts the supervisor. */
export function startSupervisor(config: ServiceConfig): Promise<RunningAgent> {
  return startAgent({
    name: "supervisor",
    description: "Plans campaign goals and delegates them to workers.",
    version: "0.1.0",
    role: "supervisor",
    intents: [launchCampaignDefinition as never],
    tools: [],
    scopes: ["campaign:plan", "delegate:copy.draft", "delegate:leads.segment", "delegate:content.publish"],
    config,
  });
}
