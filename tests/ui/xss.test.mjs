// Stored XSS in the dashboard (issue 15, finding 9), on each dialect: a
// guest stores script in every field type the dashboard offers (the list is
// read from its "New field" menu, so a new type joins), in relation labels,
// select choices, file names and file contents; requests, a webhook job and
// settings put more of it into the logs, jobs, audit and webhook screens. A
// superuser then opens every screen that shows it. Every payload calls
// window.__xss(tag) if it ever runs; the test fails on any call, on any
// dialog, on an event-handler attribute or script URL in the dashboard's
// DOM, and on any Content-Security-Policy violation that is not one of the
// attack's own refused attempts. Screenshots go to artifacts/.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { dialects, startServer } from '../sdk/harness.mjs';
import { openBrowser, png } from './browser.mjs';

const EMAIL = 'root@example.com';
const PASSWORD = 'Secret12345';

/** HTML that calls __xss(tag:kind) in each way a browser may run it. */
function payload(tag) {
  const t = (kind) => `__xss('${tag}:${kind}')`;
  return [
    `<img src=x onerror="${t('img')}">`,
    `<svg><animate onbegin="${t('svg')}" attributeName=x dur=1s></svg>`,
    `<script>${t('script')}</script>`,
    `<iframe srcdoc="<script>parent.${t('iframe')}</script>"></iframe>`,
    `<a href="javascript:${t('href')}">link</a> <a href="https://example.com/">a safe link</a>`,
    `<form action="javascript:${t('form')}"><button formaction="javascript:${t('formaction')}">go</button></form>`,
    `<math><mtext><table><mglyph><style>/*__xss ${tag}*/<!--</style><img title="--&gt;&lt;img src=x onerror=${t('mxss')}&gt;">`,
    `<details open ontoggle="${t('toggle')}"><summary>s</summary></details>`,
    `<object data="javascript:${t('object')}"></object>`,
    `"><img src=x onerror=${t('attr')}>`,
    `javascript:${t('url')}`,
  ].join(' ');
}

/** One short payload without commas or quotes, for select choices. */
const choice = (n) => `<img src=x onerror=__xss(${n})>`;

/** Values to try, in order, for a field of type, until the server stores one. */
function candidates(type, name, ctx) {
  const p = payload(`${type}-${name}`);
  switch (type) {
    case 'json':
      return [{ [p]: p, html: p, list: [p, { href: `javascript:__xss('json-href')` }] }, p];
    case 'select':
      return [ctx.choices[0]];
    case 'relation':
      return [ctx.relId];
    case 'url':
      return [p, `javascript:__xss('url')`, `https://example.com/"><img src=x onerror=__xss('url')>`];
    case 'email':
      return [p, `x'onfocus='__xss'@example.com`];
    case 'number':
      return [p, 1];
    case 'bool':
      return [p, true];
    case 'date':
      return [p, '2024-01-02 03:04:05.000Z'];
    case 'geoPoint':
      return [p, { lon: 1, lat: 2 }];
    default:
      return [p];
  }
}

/** A file for an upload. */
const file = (name, type, body) => new File([body], name, { type });

/** Waits until fn() is truthy (polling), or fails with what. */
async function until(fn, what, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends a raw request (no URL encoding) with headers, for the logs. */
function rawRequest(url, path, headers) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

for (const dialect of await dialects()) {
  describe(`dashboard stored XSS in Chromium [${dialect.name}]`, { skip: dialect.skip }, () => {
    let server;
    let ui;
    let page;
    let su; // the superuser's SDK client
    const ran = []; // __xss calls: a payload ran
    const dialogs = []; // alert/confirm/prompt opened by anything
    const downloads = [];
    const stored = []; // per field: what the server kept
    let checks = 0; // screens checked
    let choices;
    let fieldTypes; // name -> type of the xss collection's fields

    before(async () => {
      server = await startServer({ dialect: dialect.name });
      const r = await server.cli('superuser', 'upsert', EMAIL, PASSWORD);
      assert.equal(r.code, 0, r.stderr);
      su = server.client();
      await su.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
      ui = await openBrowser(dialect.name);
      await ui.context.exposeBinding('__xss', ({ frame }, tag) => ran.push({ tag: String(tag), frame: frame.url() }));
      const watch = (p) => {
        p.on('dialog', (d) => {
          dialogs.push(`${d.type()}: ${d.message()}`);
          d.dismiss().catch(() => {});
        });
        p.on('download', (d) => downloads.push(d.suggestedFilename()));
      };
      ui.context.on('page', watch);
    });
    after(async () => {
      await ui?.close();
      await server?.stop();
    });

    const sidebar = () => page.getByRole('navigation', { name: 'Main' });
    const dialog = (name) => page.getByRole('dialog', { name });

    // The violations the attack itself caused: a refused inline script,
    // style or HTML sink whose sample is a payload's (each names its tag),
    // or a refused load of a payload's URL. Anything else is a screen that
    // the CSP broke.
    const attacks = (v) => /__xss/.test(v.sample) || /__xss/.test(decodeURIComponent(v.blocked || ''));

    /**
     * Settles the screen (every image loaded or failed, so onerror payloads
     * have fired, and a task turn for queued events), screenshots it and
     * checks that nothing ran and that the DOM holds nothing that could.
     */
    async function check(name) {
      // (Lazy images off screen are not fetched: nothing of theirs can fire.)
      await page.waitForFunction(() => [...document.images].every((i) => i.complete || i.loading === 'lazy'));
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
      await ui.shot(page, name);
      checks++;
      const unsafe = await page.evaluate(() => {
        const out = [];
        const urls = ['href', 'src', 'xlink:href', 'data', 'poster', 'background', 'cite', 'codebase'];
        for (const el of document.body.querySelectorAll('*')) {
          const tag = el.localName;
          if (['script', 'iframe', 'frame', 'object', 'embed', 'base', 'meta', 'link', 'style', 'form'].includes(tag) && !(tag === 'form' && !el.hasAttribute('action'))) {
            out.push(`<${tag}> in the body`);
          }
          for (const a of el.attributes) {
            const n = a.name.toLowerCase();
            if (n.startsWith('on') || n === 'srcdoc' || n === 'action' || n === 'formaction') out.push(`<${tag} ${n}="${a.value}">`);
            else if (urls.includes(n) && /^\s*(javascript|vbscript|data:(?!image\/))/i.test(a.value)) out.push(`<${tag} ${n}="${a.value}">`);
          }
          if (tag === 'a' && el.target && el.target !== '_self' && !/\bno(opener|referrer)\b/.test(el.rel)) out.push(`<a target=${el.target}> without noopener: ${el.href}`);
        }
        return out;
      });
      assert.deepEqual(unsafe, [], `${name}: markup that could run script`);
      assert.deepEqual(ran, [], `${name}: a payload ran`);
      assert.deepEqual(dialogs, [], `${name}: a dialog opened`);
      assert.deepEqual(ui.violations.filter((v) => !attacks(v)), [], `${name}: CSP violations other than the attack's`);
      // A refused HTML sink throws: the screen would be broken, not safe.
      assert.deepEqual(ui.errors.filter((e) => e.startsWith('pageerror')), [], `${name}: uncaught errors`);
    }

    it('serves /_/ with a strict CSP that refuses eval, HTML sinks, foreign images and framing', async () => {
      page = await ui.page();
      const res = await page.goto(server.url + '/_/');
      const h = res.headers();
      const csp = h['content-security-policy'] ?? '';
      assert.match(csp, /(^|; )script-src 'nonce-[^']+' 'strict-dynamic'/, csp);
      assert.doesNotMatch(csp, /unsafe-|\*/, csp);
      assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
      assert.match(csp, /(^|; )object-src 'none'(;|$)/);
      assert.match(csp, /(^|; )base-uri 'none'(;|$)/);
      assert.match(csp, /(^|; )require-trusted-types-for 'script'(;|$)/);
      assert.equal(h['x-frame-options'], 'DENY');
      assert.equal(h['x-content-type-options'], 'nosniff');
      assert.equal(h['referrer-policy'], 'same-origin');
      await page.getByRole('button', { name: 'Sign in' }).waitFor();

      // The policy is enforced, and the collector sees what it refuses.
      const mark = ui.violations.length;
      const probe = await ui.context.newPage();
      await probe.goto(server.url + '/_/');
      await probe.getByRole('button', { name: 'Sign in' }).waitFor();
      // In a task of the page's own, not the test's evaluation (which
      // DevTools exempts from the eval check).
      const got = await probe.evaluate(() => new Promise((resolve) => setTimeout(() => {
        const out = {};
        try {
          eval("__xss('probe-eval')"); // eslint-disable-line no-eval
          out.eval = 'ran';
        } catch (e) {
          out.eval = e.name;
        }
        try {
          document.body.insertAdjacentHTML('beforeend', "<img src=x onerror=\"__xss('probe-sink')\">");
          out.sink = 'ran';
        } catch (e) {
          out.sink = e.name;
        }
        resolve(out);
      })));
      assert.deepEqual(got, { eval: 'EvalError', sink: 'TypeError' });
      await probe.evaluate(() => {
        const img = new Image();
        img.src = 'https://images.example/__xss.png';
        document.body.append(img);
      });
      // Trusted Types refuse the eval before script-src does.
      const seen = (re) => ui.violations.slice(mark).some((v) => re.test(`${v.directive} ${v.blocked} ${v.sample}`));
      await until(() => seen(/probe-eval/) && seen(/^require-trusted-types-for .*probe-sink/) && seen(/^img-src https:\/\/images\.example/), 'the probes\' violations');
      assert.ok(ui.violations.slice(mark).every(attacks), JSON.stringify(ui.violations.slice(mark)));
      await probe.close();
      // Framed by another page, the dashboard does not load.
      const framer = await ui.context.newPage();
      await framer.setContent(`<iframe src="${server.url}/_/"></iframe>`);
      const frame = await until(() => framer.frames().find((f) => f !== framer.mainFrame()), 'the frame');
      await frame.waitForLoadState();
      assert.equal(await frame.evaluate(() => document.querySelector('#app')).catch(() => null), null, 'the dashboard loaded in a frame');
      assert.notEqual(new URL(frame.url()).pathname, '/_/', `framed: ${frame.url()}`);
      await framer.close();
      assert.deepEqual(ran, [], 'a probe ran');
      ui.violations.splice(mark);
    });

    it('signs in and builds, through the dashboard, a collection with a field of every type it offers', async () => {
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();

      // The relation's target: guests may write labels.
      await su.collections.create({
        name: 'xss_rel', type: 'base', listRule: '', viewRule: '', createRule: '',
        fields: [{ name: 'label', type: 'text', presentable: true }, { name: 'note', type: 'editor', presentable: true }],
      });
      choices = [choice(1), choice(2), `javascript:__xss(3)`];

      await page.reload();
      await sidebar().getByRole('button', { name: 'New collection' }).click();
      const d = dialog('New collection');
      await d.getByLabel('Name', { exact: true }).fill('xss');
      await d.getByRole('button', { name: '+ New field' }).click();
      const labels = await d.getByRole('menuitem').evaluateAll((els) => els.map((e) => e.lastChild.textContent.trim()));
      await d.getByRole('menu', { name: 'Field types' }).getByRole('button', { name: 'Cancel' }).click();
      assert.ok(labels.length >= 10, `field types offered: ${labels}`);
      for (const [i, label] of labels.entries()) {
        await d.getByRole('button', { name: '+ New field' }).click();
        await d.getByRole('menuitem').nth(i).click();
        const row = d.locator('.field-row').last();
        const name = `f${i}_${label.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
        await row.getByRole('textbox', { name: /^Field \d+ name$/ }).fill(name);
        if (await row.getByLabel('Collection').count()) await row.getByLabel('Collection').selectOption({ label: 'xss_rel' });
        if (await row.getByLabel('Choices').count()) await row.getByLabel('Choices').fill(choices.join(', '));
        if (await row.getByLabel('Max files').count()) await row.getByLabel('Max files').fill('5');
      }
      await ui.shot(page, 'xss-collection-new');
      await d.getByRole('button', { name: 'Create', exact: true }).click();
      await page.getByRole('heading', { name: 'xss' }).waitFor();

      const col = await su.collections.getOne('xss');
      fieldTypes = Object.fromEntries(col.fields.filter((f) => f.name !== 'id').map((f) => [f.name, f.type]));
      assert.equal(Object.keys(fieldTypes).length, labels.length, `one field per offered type: ${JSON.stringify(fieldTypes)}`);
      assert.equal(new Set(Object.values(fieldTypes)).size, labels.length, 'each offered label is its own type');
      const select = col.fields.find((f) => f.type === 'select');
      assert.deepEqual(select.values, choices, 'the payload choices are stored');
      await su.collections.update('xss', { listRule: '', viewRule: '', createRule: '' });
    });

    it('refuses payloads in collection names, field names and record ids', async () => {
      const p = payload('name');
      await assert.rejects(su.collections.create({ name: choice(4), type: 'base' }), { status: 400 });
      await assert.rejects(su.collections.create({ name: 'xss_named', type: 'base', fields: [{ name: choice(5), type: 'text' }] }), { status: 400 });
      await assert.rejects(server.client().collection('xss').create({ id: p }), { status: 400 });
    });

    it('lets a guest store a payload in every field type that holds one', async (t) => {
      const guest = server.client();
      const rel = await guest.collection('xss_rel').create({ label: payload('rel-label'), note: payload('rel-note') });
      const ctx = { choices, relId: rel.id };
      const body = {};
      for (const [name, type] of Object.entries(fieldTypes)) {
        if (type === 'file' || type === 'autodate') {
          if (type === 'autodate') stored.push({ type, name, kept: 'set by the server', payload: false });
          continue;
        }
        let kept = null;
        for (const value of candidates(type, name, ctx)) {
          try {
            const rec = await guest.collection('xss').create({ [name]: value });
            kept = rec[name];
            body[name] = value;
            break;
          } catch (err) {
            assert.equal(err.status, 400, `${type}: ${err.message}`);
          }
        }
        const payload = type === 'relation' ? 'in the related label' : /__xss/.test(JSON.stringify(kept));
        stored.push({ type, name, kept: JSON.stringify(kept)?.slice(0, 60), payload });
      }
      // One record with all of it, files included: a page and an SVG with
      // script, and an image whose name is markup.
      for (const [name, type] of Object.entries(fieldTypes)) {
        if (type !== 'file') continue;
        body[name] = [
          file('evil.html', 'text/html', `<!doctype html><script>__xss('file-html')</script><img src=x onerror="__xss('file-html-img')">`),
          file('evil.svg', 'image/svg+xml', `<svg xmlns="http://www.w3.org/2000/svg" onload="__xss('file-svg')"><script>__xss('file-svg-script')</script></svg>`),
          file(`"><img src=x onerror=__xss('filename')>.png`, 'image/png', png()),
        ];
      }
      const all = await guest.collection('xss').create(body);
      for (const [name, type] of Object.entries(fieldTypes)) {
        if (type === 'file') stored.push({ type, name, kept: JSON.stringify(all[name]).slice(0, 80), payload: 'in the contents; names snake-cased' });
      }
      const what = (p) => (p === true ? 'payload stored' : p === false ? 'refused or coerced' : `payload ${p}`);
      for (const s of stored) t.diagnostic(`${s.type.padEnd(9)} ${what(s.payload)}: ${s.kept}`);
      for (const type of ['text', 'editor', 'json', 'select', 'url', 'email']) {
        assert.ok(stored.some((s) => s.type === type && s.payload), `a ${type} payload is stored`);
      }

      // Logs: a guest request whose URL, user agent and referer are markup.
      assert.equal(await rawRequest(server.url, `/api/collections/xss/records?q=<svg/onload=__xss(6)>`, {
        'User-Agent': `<img src=x onerror=__xss('ua')>`,
        Referer: `javascript:__xss('referer')`,
      }), 200);
      // Jobs and webhooks: deliveries of the records above to a closed port
      // fail, keeping their payload and error.
      await su.send('/api/hg/webhooks', {
        method: 'POST',
        body: { collection: 'xss', events: ['create'], url: `http://127.0.0.1:9/${choice(7)}`, enabled: true, secret: '0123456789abcdef0123' },
      });
      await guest.collection('xss').create({ [Object.keys(fieldTypes).find((n) => fieldTypes[n] === 'text')]: payload('webhook') });
      // Audit and settings: a superuser's own change.
      await su.settings.update({ meta: { appName: 'xss <img src=x onerror=__xss(8)>' } }).catch((err) => assert.equal(err.status, 400));
      // OAuth2: a provider's display name on an auth collection.
      await su.collections.create({
        name: 'xss_users', type: 'auth', listRule: '', viewRule: '', createRule: '',
        fields: [{ name: 'name', type: 'text', presentable: true }],
        oauth2: { enabled: true, providers: [{ name: 'oidc', clientId: 'x', clientSecret: 'y', displayName: payload('oauth2'),
          authURL: 'https://example.com/a', tokenURL: 'https://example.com/t', userInfoURL: 'https://example.com/u' }] },
      });
      const secret = `${choice(10)}Aa1`;
      await guest.collection('xss_users').create({ email: `x'onfocus='__xss'@example.com`, password: secret, passwordConfirm: secret, name: payload('user') });
      await until(async () => (await su.logs.getList(1, 1, { filter: 'data.userAgent ~ "__xss"' })).totalItems > 0, 'the request log');
    });

    it('runs nothing in the record list, its relation previews and the record panels', async () => {
      for (const name of ['xss', 'xss_rel', 'xss_users']) {
        await page.goto(`${server.url}/_/#/collections/${name}`);
        await page.reload();
        await page.locator('table.data tbody tr[data-id]').first().waitFor();
        await check(`xss-${name}-list`);
        const ids = await page.locator('table.data tbody tr[data-id]').evaluateAll((trs) => trs.map((tr) => tr.dataset.id));
        for (const id of ids) {
          await page.locator(`tr[data-id="${id}"]`).getByRole('button', { name: id }).click();
          const panel = page.getByRole('dialog', { name: `${name} ${id}` });
          await panel.waitFor();
          await check(`xss-${name}-record`);
          await page.keyboard.press('Escape');
          await panel.waitFor({ state: 'detached' });
        }
      }
    });

    it('runs nothing in the relation picker, the editor, the file links, a confirm and a toast', async () => {
      await page.goto(`${server.url}/_/#/collections/xss`);
      const rows = page.locator('table.data tbody tr[data-id]');
      const full = rows.filter({ has: page.locator('img.thumb, .badge[title$=".html"]') }).first();
      await full.waitFor();
      const id = await full.getAttribute('data-id');
      await full.getByRole('button', { name: id }).click();
      const panel = page.getByRole('dialog', { name: `xss ${id}` });
      const relName = Object.keys(fieldTypes).find((n) => fieldTypes[n] === 'relation');
      await panel.getByRole('button', { name: `Select ${relName}` }).click();
      await panel.getByRole('searchbox', { name: 'Search xss_rel' }).waitFor();
      await panel.locator('.option').first().waitFor();
      await check('xss-relation-picker');

      // Typing in the editor keeps the stored markup harmless.
      const editorName = Object.keys(fieldTypes).find((n) => fieldTypes[n] === 'editor');
      const editor = panel.getByRole('textbox', { name: editorName, exact: true });
      // It shows what is safe of the stored HTML, not nothing.
      await editor.getByRole('link', { name: 'a safe link' }).waitFor();
      await editor.click();
      await page.keyboard.type(' edited');
      await check('xss-editor-typed');

      // The uploads open in a new tab as downloads, never as pages of this origin.
      for (const ext of ['html', 'svg']) {
        const link = panel.locator(`a[href*=".${ext}"]`).first();
        const before = downloads.length;
        await link.click();
        await until(() => downloads.length > before, `the .${ext} download`);
        assert.match(downloads.at(-1), new RegExp(`\\.${ext}$`));
      }
      for (const p of ui.context.pages()) if (p !== page) await p.close();
      await check('xss-file-links');

      await panel.getByRole('button', { name: 'Delete record' }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Cancel' }).click();
      await panel.getByRole('button', { name: 'Save changes' }).click();
      await panel.waitFor({ state: 'detached' });
      await page.getByRole('status').filter({ hasText: `Saved record ${id}` }).waitFor();
      await check('xss-saved-toast');
      // What the dashboard saved from the editor is sanitised.
      const saved = await su.collection('xss').getOne(id);
      assert.doesNotMatch(saved[editorName], /\son\w+=|<script|<iframe|javascript:/i, saved[editorName]);
      assert.match(saved[editorName], /edited/);
    });

    it('runs nothing from a filter, a route or the collection editor', async () => {
      await page.goto(`${server.url}/_/#/collections/xss`);
      await page.getByLabel('Filter').fill(payload('filter'));
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByTestId('list-error').waitFor();
      await check('xss-filter');
      await page.goto(`${server.url}/_/#/collections/${encodeURIComponent(choice(9))}`);
      await page.getByText('No collection called').waitFor();
      await check('xss-route');

      await page.goto(`${server.url}/_/#/collections/xss`);
      await page.getByRole('button', { name: 'Edit collection' }).click();
      const d = dialog('Edit xss');
      const selectName = Object.keys(fieldTypes).find((n) => fieldTypes[n] === 'select');
      await d.getByRole('button', { name: `Options of ${selectName}` }).click();
      await d.getByLabel('Choices').waitFor();
      await check('xss-collection-editor');
      await page.keyboard.press('Escape');

      await page.goto(`${server.url}/_/#/collections/xss_users`);
      await page.getByRole('button', { name: 'Edit collection' }).click();
      const a = dialog('Edit xss_users');
      await a.getByRole('tab', { name: 'Options' }).click();
      await a.getByRole('button', { name: 'OAuth2' }).click();
      await a.getByText('oidc', { exact: true }).first().waitFor();
      await check('xss-oauth2');
      await page.keyboard.press('Escape');
    });

    it('runs nothing in the logs, jobs, audit, webhooks and settings screens', async () => {
      await sidebar().getByRole('link', { name: 'Logs' }).click();
      await page.getByRole('table', { name: 'Logs' }).waitFor();
      await check('xss-logs');
      const logs = page.getByRole('button', { name: /^Open log .*__xss/ });
      await logs.first().waitFor();
      for (let i = 0; i < Math.min(3, await logs.count()); i++) {
        await logs.nth(i).click();
        await dialog('Log details').getByRole('table', { name: 'Log fields' }).waitFor();
        await check('xss-log-detail');
        await page.keyboard.press('Escape');
      }

      await sidebar().getByRole('link', { name: 'Jobs' }).click();
      await page.getByRole('list', { name: 'Queues' }).waitFor();
      const counts = page.getByRole('button', { name: /^[1-9]\d* \w+ in \S+$/ });
      await until(async () => (await counts.count()) > 0, 'a queue with tasks');
      for (const label of await counts.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')))) {
        await page.getByRole('button', { name: label, exact: true }).click();
        await page.getByRole('table', { name: 'Tasks' }).waitFor();
        await check('xss-jobs');
        const tasks = page.getByRole('button', { name: /^Task \S+$/ });
        for (let i = 0; i < Math.min(3, await tasks.count()); i++) {
          await tasks.nth(i).click();
          await page.getByRole('dialog', { name: /^Task / }).waitFor();
          await check('xss-task-detail');
          await page.keyboard.press('Escape');
        }
      }

      await sidebar().getByRole('link', { name: 'Audit log' }).click();
      const audit = page.getByRole('table', { name: 'Audit entries' });
      await audit.waitFor();
      await check('xss-audit');
      const entries = audit.locator('tbody tr').filter({ hasText: /xss|settings/ }).getByRole('button', { name: /^Open entry/ });
      for (let i = 0; i < Math.min(5, await entries.count()); i++) {
        await entries.nth(i).click();
        await dialog('Audit entry').getByRole('table', { name: 'Audit entry fields' }).waitFor();
        await check('xss-audit-entry');
        await page.keyboard.press('Escape');
      }

      await sidebar().getByRole('link', { name: 'Webhooks' }).click();
      await page.getByRole('table', { name: 'Webhooks' }).getByText('__xss(7)', { exact: false }).waitFor();
      await page.getByRole('button', { name: 'Deliveries' }).first().click();
      await page.getByRole('table', { name: 'Deliveries' }).getByText('failed').first().waitFor();
      await check('xss-webhooks');

      await sidebar().getByRole('link', { name: 'Settings' }).click();
      await page.getByLabel('Application name').waitFor();
      await check('xss-settings');
    });

    it('ran no payload, opened no dialog and broke the CSP only to refuse the attack', (t) => {
      const refused = {};
      for (const v of ui.violations.filter(attacks)) refused[v.directive] = (refused[v.directive] ?? 0) + 1;
      t.diagnostic(`${checks} screens checked; the CSP refused attempts of the attack: ${JSON.stringify(refused)}`);
      assert.deepEqual(ran, []);
      assert.deepEqual(dialogs, []);
      assert.deepEqual(ui.violations.filter((v) => !attacks(v)), []);
      // The console reports the same refusals; they are judged above.
      const refusal = (e) => e.startsWith('console: ') && /Content Security Policy|TrustedHTML|TrustedScript/.test(e);
      assert.deepEqual(ui.errors.filter((e) => !refusal(e)), []);
    });
  });
}
