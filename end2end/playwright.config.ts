import { defineConfig, devices } from '@playwright/test';

// The server under test: the release binary, on its own port and its own database (set by scripts/test.sh).
export const PORT = Number(process.env.E2E_PORT ?? 3100);
export const BASE_URL = `http://127.0.0.1:${PORT}`;
/** The server's log, relative to end2end/ (Playwright empties test-results before it starts the server). */
export const SERVER_LOG = 'test-results/server.log';
/** Every ID number and phone the run's people have, one a line, written by global setup for the log check. */
export const PERSONAL_DATA = 'test-results/personal-data.txt';

export const chromium = {
  browserName: 'chromium' as const,
  launchOptions: {
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  },
};

// Two phones (an Android and an iPhone profile, both driven by Debian's Chromium), each hydrated and without JS.
const phones = [
  { name: 'android', device: devices['Pixel 7'] },
  { name: 'iphone', device: devices['iPhone 14'] },
];

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 2,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }]],
  globalSetup: './global-setup.ts',
  use: { baseURL: BASE_URL, trace: 'off', screenshot: 'only-on-failure' },
  projects: phones.flatMap(({ name, device }) => [
    { name: `${name}-hydrated`, use: { ...device, ...chromium, javaScriptEnabled: true } },
    { name: `${name}-nojs`, use: { ...device, ...chromium, javaScriptEnabled: false } },
  ]),
  // The server's whole log (JSON lines, info level) goes to SERVER_LOG, which scripts/test.sh searches for the test
  // people's ID numbers and phones after the run (scripts/personal-data-in-logs.sh).
  webServer: {
    command: `mkdir -p end2end/test-results && exec ./target/release/server > end2end/${SERVER_LOG} 2>&1`,
    cwd: '..',
    url: `${BASE_URL}/`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'ignore',
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${PORT}`,
      LEPTOS_SITE_ROOT: 'target/site',
      LEPTOS_ENV: 'PROD',
      DATABASE_URL: process.env.DATABASE_URL ?? '',
      DEMO_DATA: 'true',
      SMS_RESEND_SECS: '3',
      SMS_CODE_TTL_SECS: '20',
      // Every browser of the run comes from 127.0.0.1: the per-client limit would otherwise stop the suite.
      SMS_CODES_PER_CLIENT_HOUR: '100000',
      APP_BASE_URL: BASE_URL,
      PAYMENT_SANDBOX_ADDR: `127.0.0.1:${PORT + 1}`,
      METRICS_ADDR: `127.0.0.1:${PORT + 2}`,
      LOG_FORMAT: 'json',
      RUST_LOG: 'info,sqlx=warn',
    },
  },
});
