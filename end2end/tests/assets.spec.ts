import { expect, test } from '@playwright/test';

test('the wasm bundle and the page are served compressed', async ({ request }) => {
  for (const path of ['/pkg/dalian-traffic.wasm', '/pkg/dalian-traffic.js', '/']) {
    const response = await request.get(path, { headers: { 'Accept-Encoding': 'br, gzip' } });
    expect(response.status(), path).toBe(200);
    expect(response.headers()['content-encoding'], path).toMatch(/^(br|gzip)$/);
  }
});

test('pages are not cached by intermediaries and refuse MIME sniffing', async ({ request }) => {
  const response = await request.get('/');
  expect(response.headers()['cache-control']).toBe('no-store');
  expect(response.headers()['x-content-type-options']).toBe('nosniff');
});

test('static files may be cached but are revalidated', async ({ request }) => {
  const response = await request.get('/pkg/dalian-traffic.wasm');
  expect(response.headers()['cache-control']).toBe('no-cache');
});
