import { configDefaults, defineConfig } from "vitest/config";

const ALL = ["protocol/**/*.test.ts", "test/**/*.test.ts", "client-sdk/**/*.test.ts", "host-agent/**/*.test.ts"];
const BROWSER = ["test/web/**/*.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // expect.poll's own default (1 s) is a timing assertion in disguise: on a loaded two-core CI
    // machine a service worker's start alone can take longer. Polls wait for an outcome, not a speed.
    expect: { poll: { timeout: 15_000 } },
    // Two cores on CI: keep the fork count at the core count.
    pool: "forks",
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "node", include: ALL, exclude: [...configDefaults.exclude, ...BROWSER] } },
      // Chromium tests run after the rest, one file at a time: two browsers, relays and hosts at
      // once on two cores starve each other's timers (service-worker and tap timing).
      { extends: true, test: { name: "browser", include: BROWSER, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
