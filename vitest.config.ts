import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The CLI tests run the built binary: compile first so dist/ is never stale.
    globalSetup: ["test/setup/build.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
