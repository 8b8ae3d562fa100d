/** The supervisor agent: offers `campaign.launch`, planning and delegating the work. */
import { createSchemaValidator, defineIntent, startAgent } from "../../mesh/index.js";
import type { IntentDefinition, RunningAgent, SchemaValidator } from "../../mesh/index.js";
import type { ServiceConfig } from "../shared/service-config.js";
import { launchCampaignInputSchema, launchCampaignIntent, launchCampaignOutputSchema } from "./intent.js";
import type { LaunchCampaignInputs, LaunchCampaignOutputs } from "./intent.js";
import { launchCampaign } from "./launch-campaign.js";
import { productLaunchPlan } from "./plan-templates.js";

/**
 * The `campaign.launch` intent. `schemas` reviews the steps' results against
 * their success criteria; it belongs to the agent that offers the intent (it
 * caches every criteria schema it compiles), so each agent passes its own.
 */
export function createLaunchCampaignDefinition(schemas: SchemaValidator): IntentDefinition<LaunchCampaignInputs, LaunchCampaignOutputs> {
  return defineIntent<LaunchCampaignInputs, LaunchCampaignOutputs>({
    name: launchCampaignIntent,
    description: "Turns a campaign goal into a plan (copy, segmentation, publishing), delegates it and reviews every result.",
    inputSchema: launchCampaignInputSchema,
    outputSchema: launchCampaignOutputSchema,
    tools: [],
    requiredScopes: ["campaign:plan"],
    handle: (inputs, ctx) => launchCampaign(inputs, ctx, productLaunchPlan, schemas),
  });
}

/** Starts the supervisor, with its own schema validator for reviewing results. */
export function startSupervisor(config: ServiceConfig): Promise<RunningAgent> {
  return startAgent({
    name: "supervisor",
    description: "Plans campaign goals and delegates them to workers.",
    version: "0.1.0",
    role: "supervisor",
    intents: [createLaunchCampaignDefinition(createSchemaValidator()) as never],
    tools: [],
    scopes: ["campaign:plan", "delegate:copy.draft", "delegate:leads.segment", "delegate:content.publish"],
    config,
  });
}
