// Browser tests of the site against a real local deployment (both clusters, the feed
// simulators and the edge), started by global-setup.ts. Debian's Chromium; no browser download.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: ".",
  testMatch: "*.spec.ts",
  globalSetup: "./global-setup.ts",
  globalTeardown: "./global-teardown.ts",
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  outputDir: "../../build/web-artifacts/test-results",
  reporter: [["list"], ["json", { outputFile: "../../build/web-artifacts/playwright.json" }]],
  use: {
    browserName: "chromium",
    launchOptions: { executablePath: process.env.PARLAY_CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] },
    viewport: { width: 412, height: 915 },
    // The deployment's certificates come from a local test CA (tests/web/run.sh) Chromium does
    // not know; Node's side trusts it through NODE_EXTRA_CA_CERTS.
    ignoreHTTPSErrors: true,
    screenshot: "only-on-failure",
    trace: "off",
  },
});
