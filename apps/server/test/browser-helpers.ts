/**
 * Helpers for the browser tests: Debian's Chromium through playwright-core, the web app built
 * and served by a test server on a port chosen here (so the page's origin is an allowed one),
 * axe-core scans and screenshots at phone and desktop widths.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { freePort, REPO_ROOT } from '@parley/test-helpers';
import axe from 'axe-core';
import { afterAll, beforeAll } from 'vitest';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Locator,
  type Page,
} from 'playwright-core';
import { startTestServer, type TestServer, type TestServerOptions } from './helpers.js';

export { freePort, REPO_ROOT };
export const SCREENSHOT_DIR = `${REPO_ROOT}test-results/screenshots`;
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** Generous: two test files run at once on two cores. */
export const T = 30_000;

export function ensureWebBuilt() {
  if (!existsSync(`${REPO_ROOT}apps/web/dist/index.html`)) {
    execSync('pnpm --filter @parley/web build', { cwd: REPO_ROOT, stdio: 'inherit' });
  }
}

/** A test server on a known port, so that http://127.0.0.1:<port> is an allowed origin. */
export async function startWebServer(opts: Partial<TestServerOptions> = {}) {
  ensureWebBuilt();
  const port = await freePort();
  const t = await startTestServer({
    db: 'pglite',
    ...opts,
    env: { PORT: String(port), HOST: '127.0.0.1', ...opts.env },
  });
  return { t, origin: `http://127.0.0.1:${port}` };
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
    ],
  });
}

export async function newContext(
  browser: Browser,
  origin: string,
  extra: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const ctx = await browser.newContext({
    ...extra,
    baseURL: origin,
    viewport: { width: 1280, height: 800 },
    // axe-core goes in as an inline script; the app's CSP allows only its own scripts.
    bypassCSP: true,
    permissions: ['camera', 'microphone'],
  });
  ctx.setDefaultTimeout(T);
  return ctx;
}

/**
 * What every browser test file sets up, registered in the describe it is called in: a web test
 * server, one Chromium for the file, and contexts (one per person) that are all closed at its end.
 * Its fields are there once the file's tests run.
 */
export function browserSuite(opts: Partial<TestServerOptions> = {}) {
  let web: { t: TestServer; origin: string } | null = null;
  let browser: Browser | null = null;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    web = await startWebServer(opts);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    await browser?.close();
    await web?.t.close();
  });
  const ready = <V>(value: V | null): V => {
    if (value === null) throw new Error('browserSuite: used before its beforeAll ran');
    return value;
  };
  return {
    get t() {
      return ready(web).t;
    },
    get origin() {
      return ready(web).origin;
    },
    get browser() {
      return ready(browser);
    },
    /** A new browser context (a person's browser), closed at the end of the file. */
    async context(extra: BrowserContextOptions = {}) {
      const ctx = await newContext(ready(browser), ready(web).origin, extra);
      contexts.push(ctx);
      return ctx;
    },
  };
}

/** Waits (auto-retrying) until the locator is visible. */
export const visible = (l: Locator, timeout = T) => l.first().waitFor({ state: 'visible', timeout });
export const hidden = (l: Locator, timeout = T) => l.first().waitFor({ state: 'hidden', timeout });

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** Runs axe-core on the page; returns the serious and critical violations. */
export async function axeSerious(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe !== 'undefined');
  if (!loaded) await page.addScriptTag({ content: axe.source });
  const violations = await page.evaluate(async () => {
    const w = window as unknown as {
      axe: {
        run(
          ctx?: unknown,
          opts?: unknown,
        ): Promise<{
          violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
        }>;
      };
    };
    const r = await w.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Screenshots of the current screen at phone and desktop widths, then back to desktop. */
export async function screenshots(page: Page, name: string) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.setViewportSize({ width: 375, height: 812 });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}-375x812.png` });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}-1280x800.png` });
}

/** Retries an async check until it passes or the time is up (for conditions that can lapse). */
export async function eventually(check: () => Promise<void>, timeoutMs = T) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function signUp(page: Page, name: string, email: string, password = 'correct horse battery') {
  await page.goto('/');
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await visible(page.getByRole('heading', { name: `Hi, ${name}` }));
}

export async function signIn(page: Page, name: string, email: string, password = 'correct horse battery') {
  await page.goto('/');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await visible(page.getByRole('heading', { name: `Hi, ${name}` }));
}
