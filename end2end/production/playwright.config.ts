import { defineConfig, devices } from '@playwright/test';

// The production smoke test (scripts/smoke-production.sh starts the server and the fakes): one phone, hydrated,
// inside WeChat, against the HTTPS edge with its self-signed certificate.
export default defineConfig({
  testDir: '.',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: '../test-results/results.json' }]],
  use: {
    baseURL: process.env.SMOKE_BASE_URL,
    ignoreHTTPSErrors: true,
    trace: 'off',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'android-wechat-production',
      use: {
        ...devices['Pixel 7'],
        browserName: 'chromium',
        javaScriptEnabled: true,
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
      },
    },
  ],
});
