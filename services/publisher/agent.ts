/**
 * The publisher agent: offers `content.publish`, a high-risk action that writes
 * to a local outbox. The outbox file is named by task id and written atomically,
 * so a re-executed task cannot publish twice.
 */
import { Code } from "@connectrpc/connect";
import { defineIntent, startAgent } from "../../mesh/index.js";
import type { RunningAgent } from "../../mesh/index.js";
import { withDomainErrors } from "../shared/domain-error.js";
import type { ServiceConfig } from "../shared/service-config.js";
import { tool } from "../shared/tools.js";
import {
  PublishConflictError, PublishVerificationError, publishContent, publishContentDescription, publishContentInputSchema,
  publishContentIntent, publishContentOutputSchema,
} from "./index.js";
import type { PublishContentInputs, PublishContentOutputs } from "./index.js";

/** The `content.publish` intent, writing into `outboxDir`. */
export function publishDefinition(outboxDir: string) {
  return defineIntent<PublishContentInputs, PublishContentOutputs>({
    name: publishContentIntent,
    description: publishContentDescription,
    inputSchema: publishContentInputSchema,
    outputSchema: publishContentOutputSchema,
    tools: ["outbox.write", "outbox.verify"],
    requiredScopes: ["content:publish"],
    handle: (inputs, ctx) =>
      withDomainErrors(() => publishContent(inputs, ctx.taskId, outboxDir, ctx.tool), [
        [PublishConflictError, Code.AlreadyExists, "publish_conflict"],
        [PublishVerificationError, Code.DataLoss, "publish_verification_failed"],
      ]),
  });
}

/** Starts the publisher. */
export function startPublisher(config: ServiceConfig): Promise<RunningAgent> {
  return startAgent({
    name: "publisher",
    description: "Publishes content to the outbox (high risk: gated by policy).",
    version: "0.1.0",
    role: "worker",
    intents: [publishDefinition(config.outboxDir) as never],
    tools: [tool("outbox.write", "Writes content to the outbox atomically."), tool("outbox.verify", "Reads back and verifies an outbox file.")],
    scopes: ["content:publish", "tool:outbox.write", "tool:outbox.verify"],
    config,
  });
}
