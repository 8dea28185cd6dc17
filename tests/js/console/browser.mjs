// Debian's Chromium driven by playwright-core (no browser download: the machine's /usr/bin/chromium, or CHROMIUM_PATH).
// A missing browser fails the run with how to install it; it never skips.

import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launch() {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is missing at ${chromiumPath}: install Debian's package (apt-get install -y chromium; ./test.sh does) or set CHROMIUM_PATH.`);
  }
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/**
 * A page that records what goes wrong in it (uncaught errors, console errors, CSP violations), so a test can assert the
 * console ran cleanly. `allow` lists console messages that are expected (a refused WebSocket in a fallback test).
 */
// The console shows the hub's 4xx problems on purpose (a topic that does not exist yet, a refused name); Chromium logs
// each such answer as a console error, which is expected. Anything else (a CSP violation, a script error) is not.
const expected = [/Failed to load resource: the server responded with a status of 4\d\d/];

export async function openPage(browser, { viewport = { width: 1280, height: 900 }, allow = [] } = {}) {
  allow = [...expected, ...allow];
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (allow.some((pattern) => pattern.test(text))) return;
    page.problems.push(`console error: ${text}`);
  });
  return page;
}

/**
 * Waits until an element's text is `equals`, differs from `notEquals`, or matches `matches` (a RegExp); answers the text.
 * No sleeps: Playwright re-checks on every animation frame, in the page.
 */
export async function waitForText(page, selector, { equals, notEquals, matches }, timeout = 15_000) {
  const handle = await page.waitForFunction(
    ({ selector, equals, notEquals, source, flags }) => {
      const text = document.querySelector(selector)?.textContent;
      if (text === undefined || text === null) return false;
      if (equals !== undefined && text !== equals) return false;
      if (notEquals !== undefined && text === notEquals) return false;
      if (source !== undefined && !new RegExp(source, flags).test(text)) return false;
      return text;
    },
    { selector, equals, notEquals, source: matches?.source, flags: matches?.flags },
    { timeout },
  );
  return handle.jsonValue();
}
