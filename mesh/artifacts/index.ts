/** Artifacts by signed link: signing and verifying links, the rules of who may use them, and the client. */
export * from "./artifact-link-error.js";
export * from "./artifact-link.js";
export * from "./artifact-link-verifier.js";
export * from "./artifact-ref-check.js";
export * from "./artifact-access.js";
export * from "./artifact-client.js";
