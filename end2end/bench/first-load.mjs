#!/usr/bin/env node
// First-load benchmark for 大连智慧交通: what a phone downloads on a cold visit, and how long until the wasm
// islands have hydrated on an emulated slow-4G phone.
//
//   BENCH_URL=http://127.0.0.1:3400 [BENCH_COOKIE='dlt_session=abc.def'] \
//   [BENCH_PAGES='/,/guest-pay'] [BENCH_RUNS=3] node end2end/bench/first-load.mjs > result.json
//
// For every path, each in a fresh browser context (390x844 phone, cache disabled, the cookie set):
//   1. transfer: one unthrottled load, waiting for body[data-hydrated="true"] and then network idle; bytes on
//      the wire (CDP Network.loadingFinished encodedDataLength, response headers included) summed per kind,
//      and every response's content-encoding;
//   2. time to interactive: BENCH_RUNS loads under Lighthouse's mobile slow-4G profile (150 ms latency,
//      1.6 Mbit/s down, 750 kbit/s up, CPU slowed 4x), each timed from navigation start to the moment
//      body[data-hydrated="true"] appears (a MutationObserver installed before any page script runs), with
//      DOMContentLoaded and load from the Navigation Timing entry; medians reported.
// DevTools throttling holds back response bodies, not headers: a run's ttfb_ms stays near the server's own time and
// the emulated latency shows in html_received_ms (the document's responseEnd) and everything after it.
// One JSON document goes to stdout; progress and warnings go to stderr. Exits 1 if a page answers with an error
// status or never hydrates, 2 on bad input.

import { chromium } from '@playwright/test';

const HYDRATED = 'body[data-hydrated="true"]';
const HYDRATE_TIMEOUT_MS = 60_000;
const IDLE_QUIET_MS = 500;
const IDLE_TIMEOUT_MS = 15_000;
const DEFAULT_PAGES = '/,/violations/vehicle?plate=%E8%BE%BDB00001&type=02';

const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 3,
  isMobile: true,
  hasTouch: true,
};

// Lighthouse's mobile "slow 4G" profile.
const SLOW_4G = {
  offline: false,
  latency: 150,
  downloadThroughput: (1.6 * 1024 * 1024) / 8,
  uploadThroughput: (750 * 1024) / 8,
};
const CPU_SLOWDOWN = 4;
// A fixed busy loop (about 0.1 s unthrottled) run after hydration to show the CPU slowdown took effect; shorter
// loops fall inside Chromium's throttling time slices and show less than the full factor.
const CPU_PROBE_ITERATIONS = 2e7;

class BenchError extends Error {}

const log = (...args) => console.error('[first-load]', ...args);

function usage(message) {
  console.error(`first-load: ${message}`);
  console.error(
    'usage: BENCH_URL=http://127.0.0.1:3400 [BENCH_COOKIE="name=value; ..."] [BENCH_PAGES="/,/path?q"] [BENCH_RUNS=3] node first-load.mjs',
  );
  process.exit(2);
}

function readConfig() {
  const rawUrl = (process.env.BENCH_URL ?? '').trim();
  if (!rawUrl) usage('BENCH_URL is not set');
  let base;
  try {
    base = new URL(rawUrl);
  } catch {
    usage(`BENCH_URL is not a URL: ${rawUrl}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') usage(`BENCH_URL must be http(s): ${rawUrl}`);

  const pages = (process.env.BENCH_PAGES?.trim() ? process.env.BENCH_PAGES : DEFAULT_PAGES)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => (p.startsWith('/') ? p : `/${p}`));
  if (pages.length === 0) usage('BENCH_PAGES names no path');

  const runsText = process.env.BENCH_RUNS?.trim() || '3';
  const runs = Number(runsText);
  if (!Number.isInteger(runs) || runs < 1) usage(`BENCH_RUNS must be a positive integer, not ${runsText}`);

  return { base, pages, runs, cookies: parseCookies(process.env.BENCH_COOKIE ?? '', base) };
}

/** `a=1; b=2` (a Cookie header value) -> Playwright cookies for the benchmarked host. */
function parseCookies(header, base) {
  const cookies = [];
  for (const part of header.split(';')) {
    const pair = part.trim();
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) usage(`BENCH_COOKIE has a part that is not name=value: ${pair}`);
    cookies.push({
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      domain: base.hostname,
      path: '/',
      secure: base.protocol === 'https:',
      httpOnly: true,
      sameSite: 'Lax',
    });
  }
  return cookies;
}

function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return round(sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2);
}

const round = (ms) => (ms == null ? null : Math.round(ms * 10) / 10);

function header(headers, name) {
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === name) return v;
  return undefined;
}

function kindOf(type, url) {
  let pathname = url;
  try {
    pathname = new URL(url).pathname;
  } catch {}
  if (pathname.endsWith('.wasm')) return 'wasm';
  switch (type) {
    case 'Document':
      return 'document';
    case 'Stylesheet':
      return 'css';
    case 'Script':
      return 'js';
    default:
      return 'other';
  }
}

/** A fresh phone context with the cookie, a page, and a CDP session with the network domain on and the cache off. */
async function openPage(browser, cookies) {
  const context = await browser.newContext({ ...PHONE });
  if (cookies.length) await context.addCookies(cookies);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  return { context, page, cdp, problems };
}

/** Navigates and fails clearly on an error status; returns the document's response. */
async function navigate(page, url, path, problems) {
  let response;
  try {
    response = await page.goto(url, { waitUntil: 'commit', timeout: HYDRATE_TIMEOUT_MS });
  } catch (e) {
    throw new BenchError(`${path}: navigation failed: ${e.message.split('\n')[0]}`);
  }
  if (!response) throw new BenchError(`${path}: navigation produced no response`);
  if (response.status() >= 400) {
    throw new BenchError(`${path}: the server answered ${response.status()} ${response.statusText()} (${response.url()})`);
  }
  return response;
}

async function waitHydrated(page, path, problems, what) {
  try {
    await page.waitForSelector(HYDRATED, { state: 'attached', timeout: HYDRATE_TIMEOUT_MS });
  } catch (e) {
    const detail = problems.length ? `\n  ${[...new Set(problems)].slice(0, 12).join('\n  ')}` : '';
    throw new BenchError(
      `${path}: never hydrated (${what}): ${HYDRATED} did not appear within ${HYDRATE_TIMEOUT_MS / 1000} s at ${page.url()}${detail}`,
    );
  }
}

function warnOnRedirect(path, requestedUrl, finalUrl) {
  const want = new URL(requestedUrl);
  const got = new URL(finalUrl);
  if (want.pathname !== got.pathname || want.search !== got.search) {
    log(`warning: ${path} ended up at ${got.pathname}${got.search} — measuring that page (sign-in needed? set BENCH_COOKIE)`);
  }
}

/** Step 1: bytes on the wire per kind, and each response's content-encoding. */
async function measureTransfer(browser, config, path) {
  const url = new URL(path, config.base).href;
  const { context, page, cdp, problems } = await openPage(browser, config.cookies);
  try {
    const requests = new Map(); // requestId -> { url, type, encoding, status, headerBytes, bytes }
    const inflight = new Set();
    let lastActivity = Date.now();
    const entry = (id) => {
      if (!requests.has(id)) requests.set(id, { url: '', type: 'Other', encoding: null, status: null });
      return requests.get(id);
    };
    cdp.on('Network.requestWillBeSent', (e) => {
      const r = entry(e.requestId);
      r.url = e.request.url;
      if (e.type) r.type = e.type;
      inflight.add(e.requestId);
      lastActivity = Date.now();
    });
    cdp.on('Network.responseReceived', (e) => {
      const r = entry(e.requestId);
      r.url = e.response.url;
      r.type = e.type ?? r.type;
      r.status = e.response.status;
      r.encoding = header(e.response.headers, 'content-encoding') ?? 'identity';
      r.headerBytes = e.response.encodedDataLength ?? 0;
      lastActivity = Date.now();
    });
    cdp.on('Network.loadingFinished', (e) => {
      entry(e.requestId).bytes = e.encodedDataLength;
      inflight.delete(e.requestId);
      lastActivity = Date.now();
    });
    cdp.on('Network.loadingFailed', (e) => {
      const r = entry(e.requestId);
      r.failed = e.errorText;
      inflight.delete(e.requestId);
      lastActivity = Date.now();
    });

    await page.addInitScript(HYDRATION_PROBE);
    await navigate(page, url, path, problems);
    await waitHydrated(page, path, problems, 'unthrottled');
    const ttiUnthrottled = await page.evaluate(() => window.__benchHydratedAt ?? null);
    await page.waitForLoadState('networkidle', { timeout: IDLE_TIMEOUT_MS }).catch(() => {
      log(`warning: ${path}: Playwright's networkidle not reached within ${IDLE_TIMEOUT_MS / 1000} s`);
    });
    // Our own idle check too, on the CDP events we count: nothing in flight for IDLE_QUIET_MS.
    const idleDeadline = Date.now() + IDLE_TIMEOUT_MS;
    while (Date.now() < idleDeadline && (inflight.size > 0 || Date.now() - lastActivity < IDLE_QUIET_MS)) {
      await page.waitForTimeout(50);
    }
    if (inflight.size > 0) log(`warning: ${path}: ${inflight.size} request(s) still in flight after ${IDLE_TIMEOUT_MS / 1000} s`);
    warnOnRedirect(path, url, page.url());

    const bytes = { document: 0, css: 0, js: 0, wasm: 0, other: 0, total: 0 };
    const bodyBytes = { document: 0, css: 0, js: 0, wasm: 0, other: 0, total: 0 };
    const encodings = {};
    const resources = [];
    for (const r of requests.values()) {
      if (!r.url || r.url.startsWith('data:')) continue;
      const kind = kindOf(r.type, r.url);
      const wire = r.bytes ?? 0;
      const body = Math.max(0, wire - (r.headerBytes ?? 0));
      bytes[kind] += wire;
      bytes.total += wire;
      bodyBytes[kind] += body;
      bodyBytes.total += body;
      if (r.encoding) encodings[r.url] = r.encoding;
      resources.push({ url: r.url, type: r.type, kind, status: r.status, encoding: r.encoding, bytes: wire, ...(r.failed ? { failed: r.failed } : {}) });
    }
    const errors = resources.filter((r) => r.status >= 400);
    for (const r of errors) log(`warning: ${path}: ${r.url} answered ${r.status}`);
    for (const p of new Set(problems)) log(`note: ${path}: ${p}`);
    return { finalUrl: page.url(), ttiUnthrottled: round(ttiUnthrottled), bytes, bodyBytes, encodings, resources };
  } finally {
    await context.close();
  }
}

// Installed before any page script: records performance.now() (ms since navigation start) when body gets
// data-hydrated="true".
const HYDRATION_PROBE = `(() => {
  const mark = () => {
    if (window.__benchHydratedAt === undefined && document.body && document.body.getAttribute('data-hydrated') === 'true') {
      window.__benchHydratedAt = performance.now();
      return true;
    }
    return false;
  };
  const observer = new MutationObserver(() => { if (mark()) observer.disconnect(); });
  observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-hydrated'] });
})();`;

/** Step 2: one slow-4G, 4x-CPU load timed to hydration. */
async function measureRun(browser, config, path, run) {
  const url = new URL(path, config.base).href;
  const { context, page, cdp, problems } = await openPage(browser, config.cookies);
  try {
    await page.addInitScript(HYDRATION_PROBE);
    await cdp.send('Network.emulateNetworkConditions', SLOW_4G);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_SLOWDOWN });

    const wallStart = performance.now();
    await navigate(page, url, path, problems);
    await waitHydrated(page, path, problems, `slow 4G run ${run}`);
    const wallMs = performance.now() - wallStart;
    // loadEventEnd is 0 until the load handlers have finished.
    await page
      .waitForFunction(() => performance.getEntriesByType('navigation')[0]?.loadEventEnd > 0, null, {
        timeout: HYDRATE_TIMEOUT_MS,
        polling: 100,
      })
      .catch(() => log(`warning: ${path}: run ${run}: the load event had not finished after ${HYDRATE_TIMEOUT_MS / 1000} s`));
    const t = await page.evaluate((CPU_PROBE_ITERATIONS) => {
      const nav = performance.getEntriesByType('navigation')[0];
      // A fixed piece of work, to show the CPU slowdown took effect (compare with the unthrottled probe).
      const start = performance.now();
      let x = 0;
      for (let i = 0; i < CPU_PROBE_ITERATIONS; i++) x = (x + i * 7) % 1000003;
      const cpuProbe = performance.now() - start;
      return {
        hydrated: window.__benchHydratedAt ?? null,
        ttfb: nav?.responseStart ?? null,
        htmlDone: nav?.responseEnd ?? null,
        dcl: nav?.domContentLoadedEventEnd || null,
        load: nav?.loadEventEnd || null,
        status: nav?.responseStatus ?? null,
        cpuProbe,
        checksum: x,
      };
    }, CPU_PROBE_ITERATIONS);
    if (t.hydrated == null) log(`warning: ${path}: run ${run}: the in-page probe missed hydration; using wall time`);
    return {
      tti_ms: round(t.hydrated ?? wallMs),
      dcl_ms: round(t.dcl),
      load_ms: round(t.load),
      ttfb_ms: round(t.ttfb),
      html_received_ms: round(t.htmlDone),
      wall_ms: round(wallMs),
      cpu_probe_ms: round(t.cpuProbe),
      final_url: page.url(),
    };
  } finally {
    await context.close();
  }
}

/** The same fixed workload without throttling, for comparison with the runs' cpu_probe_ms. */
async function cpuProbeUnthrottled(browser) {
  const context = await browser.newContext({ ...PHONE });
  try {
    const page = await context.newPage();
    return round(
      await page.evaluate((CPU_PROBE_ITERATIONS) => {
        const start = performance.now();
        let x = 0;
        for (let i = 0; i < CPU_PROBE_ITERATIONS; i++) x = (x + i * 7) % 1000003;
        const ms = performance.now() - start;
        return x < 0 ? -1 : ms;
      }, CPU_PROBE_ITERATIONS),
    );
  } finally {
    await context.close();
  }
}

async function main() {
  const config = readConfig();
  log(`${config.base.origin}: ${config.pages.join(', ')} (${config.runs} slow-4G run(s) each, ${config.cookies.length} cookie(s))`);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: LAUNCH_ARGS });
  try {
    const result = {
      chromium: browser.version(),
      url: config.base.origin,
      profile: {
        viewport: '390x844@3x, mobile, touch',
        network: { latency_ms: SLOW_4G.latency, download_bytes_per_s: SLOW_4G.downloadThroughput, upload_bytes_per_s: SLOW_4G.uploadThroughput },
        cpu_slowdown: CPU_SLOWDOWN,
        bytes: 'encodedDataLength from CDP Network.loadingFinished: compressed body plus response headers',
      },
      cpu_probe_ms_unthrottled: await cpuProbeUnthrottled(browser),
      pages: [],
    };
    for (const path of config.pages) {
      log(`${path}: transfer`);
      const transfer = await measureTransfer(browser, config, path);
      const runs = [];
      for (let i = 1; i <= config.runs; i++) {
        log(`${path}: slow-4G run ${i}/${config.runs}`);
        runs.push(await measureRun(browser, config, path, i));
      }
      result.pages.push({
        path,
        final_url: transfer.finalUrl,
        bytes: transfer.bytes,
        body_bytes: transfer.bodyBytes,
        encodings: transfer.encodings,
        tti_ms_median: median(runs.map((r) => r.tti_ms)),
        dcl_ms_median: median(runs.map((r) => r.dcl_ms)),
        load_ms_median: median(runs.map((r) => r.load_ms)),
        tti_ms_unthrottled: transfer.ttiUnthrottled,
        runs,
        resources: transfer.resources,
      });
    }
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  if (e instanceof BenchError) {
    console.error(`first-load: ${e.message}`);
  } else {
    console.error('first-load: unexpected failure:', e);
  }
  process.exit(1);
});
