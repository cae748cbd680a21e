// Headless Chromium from Debian (/usr/bin/chromium) driven by playwright-core: never a downloaded
// browser. Each test gets its own browser, closed when the test ends, and writes its screenshots to
// SCREENSHOT_DIR so a person can look at them.

import { existsSync, mkdirSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DASHBOARD_DIR } from '../../src/http/routes/dashboard.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = new URL('../../test-output/screenshots/', import.meta.url).pathname;

export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Why the browser tests cannot run here, or null. */
export function missingPrerequisite(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (CI installs the Debian package chromium)`;
  if (!existsSync(`${DASHBOARD_DIR}index.html`)) return 'dist/web is not built: run npm run build';
  return null;
}

export async function browserFor(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  return browser;
}

/** A page in a fresh context (its own sessionStorage), failing the test on any uncaught page error or CSP violation. */
export async function pageFor(browser: Browser, viewport = LAPTOP): Promise<Page & { errors: Error[] }> {
  const context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  const page = Object.assign(await context.newPage(), { errors: [] as Error[] });
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => page.errors.push(e));
  // A blocked script, style or image is only a console message: the server's Content-Security-Policy
  // must allow everything the dashboard build needs.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) page.errors.push(new Error(m.text()));
  });
  return page;
}

/** Writes test-output/screenshots/NAME.png (whole page) and prints where. */
export async function screenshot(t: TestContext, page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  t.diagnostic(`screenshot: ${path}`);
  return path;
}
