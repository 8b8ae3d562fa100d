// Public API of the publisher worker: the `content.publish` contract and its tools.
export { publishContent, renderOutboxContent } from "./publish-content.js";
export { writeOutboxFile, type OutboxWrite } from "./write-outbox-file.js";
export { verifyOutboxFile, type OutboxVerification } from "./verify-outbox-file.js";
export { outboxFileName } from "./outbox-file-name.js";
export { sha256Digest } from "./sha256-digest.js";
export { PublishConflictError } from "./publish-conflict-error.js";
export { PublishVerificationError } from "./publish-verification-error.js";
export {
  publishContentIntent,
  publishContentDescription,
  publishContentInputSchema,
  publishContentOutputSchema,
  MAX_BODY_LENGTH,
  MAX_TASK_ID_LENGTH,
  type PublishContentInputs,
  type PublishContentOutputs,
} from "./intent.js";
