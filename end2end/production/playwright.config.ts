import { defineConfig, devices } from '@playwright/test';
import { chromium } from '../playwright.config';

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
        ...chromium,
        javaScriptEnabled: true,
      },
    },
  ],
});
