import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // The end-to-end tests start child processes, TLS servers and SMTP servers;
    // two cores are all a CI machine has, so keep the fan-out small.
    pool: 'forks',
    maxWorkers: 2,
    // Generous: end-to-end tests run child processes and TLS handshakes, and a
    // loaded 2-core machine can take several times as long as an idle one.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
