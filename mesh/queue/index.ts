/**
 * The public API of the queue: contracts, errors, backend selection and the
 * embedded adapter. (The conformance suite, conformance.ts, is test-only and not
 * exported here.)
 */
export * from "./queue-types.js";
export * from "./queue-errors.js";
export * from "./backend.js";
export { openEmbeddedBackend } from "./embedded/embedded-backend.js";
export type { EmbeddedQueueSettings } from "./embedded/embedded-settings.js";
