import { expect, test } from '@playwright/test';

/** The wasm, JS and CSS the home page links, which carry content hashes in their names. */
async function linkedAssets(request: import('@playwright/test').APIRequestContext): Promise<string[]> {
  const html = await (await request.get('/')).text();
  const assets = [...html.matchAll(/\/pkg\/[\w.-]+\.(?:js|wasm|css)/g)].map((m) => m[0]);
  return [...new Set(assets)];
}

test('the built files carry content hashes and are served precompressed', async ({ request }) => {
  const assets = await linkedAssets(request);
  expect(assets.some((a) => a.endsWith('.wasm'))).toBeTruthy();
  expect(assets.some((a) => a.endsWith('.js'))).toBeTruthy();
  expect(assets.some((a) => a.endsWith('.css'))).toBeTruthy();
  for (const path of assets) {
    expect(path, 'hashed name').toMatch(/\/dalian-traffic\.[\w-]{8,}\.(js|wasm|css)$/);
    const response = await request.get(path, { headers: { 'Accept-Encoding': 'br, gzip' } });
    expect(response.status(), path).toBe(200);
    expect(response.headers()['content-encoding'], path).toBe('br');
    expect(response.headers()['cache-control'], path).toBe('public, max-age=31536000, immutable');
  }
  const gzip = await request.get(assets[0], { headers: { 'Accept-Encoding': 'gzip' } });
  expect(gzip.headers()['content-encoding']).toBe('gzip');
});

test('pages are compressed, not cached by intermediaries and refuse MIME sniffing', async ({ request }) => {
  const response = await request.get('/', { headers: { 'Accept-Encoding': 'br, gzip' } });
  expect(response.headers()['content-encoding']).toMatch(/^(br|gzip)$/);
  expect(response.headers()['cache-control']).toBe('no-store');
  expect(response.headers()['x-content-type-options']).toBe('nosniff');
});

test('static files without a hash may be cached but are revalidated', async ({ request }) => {
  const response = await request.get('/vendor/weui.min.css');
  expect(response.status()).toBe(200);
  expect(response.headers()['cache-control']).toBe('no-cache');
});
