// Debian's Chromium driven by playwright-core: test tools cannot download
// their own browsers here, and the flags keep Chromium off the network.
//
//   const ui = await openBrowser('sqlite');
//   const page = await ui.page(server.url + '/_/');
//   await ui.shot(page, 'records');        // artifacts/sqlite-records.png
//   ui.assertNoErrors();                    // no JS errors, no console errors,
//                                           // no Content-Security-Policy violations
//   await ui.close();

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

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
  // Every CSP violation in every page and frame, as the browser reports it
  // to the page (securitypolicyviolation), with the sample of the refused
  // code that 'report-sample' adds.
  const violations = [];
  await context.exposeBinding('__hgCSPViolation', ({ frame }, v) => violations.push({ ...v, frame: frame.url() }));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__hgCSPViolation({
        directive: e.effectiveDirective,
        blocked: e.blockedURI,
        sample: e.sample,
        source: `${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`,
        disposition: e.disposition,
      });
    });
  });
  mkdirSync(ARTIFACTS, { recursive: true });

  return {
    browser,
    context,
    errors,
    network4xx,
    violations,
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
      assert.deepEqual(violations, [], 'the dashboard broke its Content-Security-Policy');
    },
  };
}

/** The one-time install link that `serve` printed. */
export function installLink(server) {
  const m = server.output.match(/(http:\/\/\S+\/_\/#\/install\/\S+)/);
  assert.ok(m, `serve printed no install link:\n${server.output}`);
  return m[1];
}

/** A small valid PNG, so the server's thumbnailer has a real image. */
export function png(width = 8, height = 8) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rows.set([200, 40 * (x % 6), 90], y * (width * 3 + 1) + 1 + x * 3);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
