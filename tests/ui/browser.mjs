// Debian's Chromium driven by playwright-core: test tools cannot download
// their own browsers here, and the flags keep Chromium off the network.
//
//   const ui = await openBrowser('sqlite');
//   const page = await ui.page(server.url + '/_/');
//   await ui.shot(page, 'records');        // artifacts/sqlite-records.png
//   ui.assertNoErrors();                    // no JS errors, no console errors
//   await ui.close();

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = process.env.HG_UI_ARTIFACTS || path.join(here, 'artifacts');

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

// A request the test provokes on purpose (a 400 with validation errors)
// makes Chromium log "Failed to load resource"; those are checked by the
// test itself through the screen, so they are kept apart from real errors.
const NETWORK_4XX = /^Failed to load resource: the server responded with a status of 4\d\d/;

export async function openBrowser(label) {
  const browser = await chromium.launch({
    executablePath: process.env.HG_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const errors = [];
  const network4xx = [];
  mkdirSync(ARTIFACTS, { recursive: true });

  return {
    browser,
    context,
    errors,
    network4xx,
    async page(url) {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        if (NETWORK_4XX.test(msg.text())) network4xx.push(msg.text());
        else errors.push(`console: ${msg.text()}`);
      });
      if (url) await page.goto(url);
      return page;
    },
    async shot(page, name) {
      await page.screenshot({ path: path.join(ARTIFACTS, `${label}-${name}.png`), fullPage: true });
    },
    close() {
      return browser.close();
    },
    assertNoErrors() {
      assert.deepEqual(errors, [], 'the dashboard logged errors');
    },
  };
}

/** The one-time install link that `serve` printed. */
export function installLink(server) {
  const m = server.output.match(/(http:\/\/\S+\/_\/#\/install\/\S+)/);
  assert.ok(m, `serve printed no install link:\n${server.output}`);
  return m[1];
}
