/**
 * The public API of the project's tooling: the pinned Go-built tools
 * (scripts/install-tool.sh) and the policy build. npm scripts and tests import
 * from here. Test-only helpers that need vitest are in test-tools.ts.
 */
export * from "./tool-path.js";
export * from "./policy-layout.js";
export * from "./policy-bundle.js";
export * from "./opa-capabilities.js";
