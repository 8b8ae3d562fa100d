import { defineConfig } from "vitest/config";

// Unit tests sit beside the code; cross-service and end-to-end tests live in test/.
// Process-level tests start real servers, so they get generous timeouts, and at
// most two files run at once on a 2-core machine. The global setup builds the
// pinned Go tools (OPA, ...) once, into a cache outside the checkout.
export default defineConfig({
  test: {
    globalSetup: ["tools/vitest-global-setup.ts"],
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "gen/**", "scratch/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
