import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["protocol/**/*.test.ts", "test/**/*.test.ts", "client-sdk/**/*.test.ts", "host-agent/**/*.test.ts"],
    testTimeout: 60_000,
    // Two cores on CI: keep the fork count at the core count.
    pool: "forks",
    maxWorkers: 2,
  },
});
