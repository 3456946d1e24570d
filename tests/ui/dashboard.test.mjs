// The dashboard in a real browser, from an empty data dir, on each dialect:
// first superuser from the install link, sign-in, a collection with text,
// number, select, relation and file fields, records (one with an upload),
// filtering, sorting, a validation error, deletes, and a staff account that
// sees only the screens its role allows (and that the API refuses the
// rest), the audit log with a change's diff, and backups (made and deleted
// on SQLite, a pg_dump notice on PostgreSQL). Screenshots of each main
// screen go to artifacts/.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';

import { dialects, startServer } from '../sdk/harness.mjs';
import { installLink, openBrowser, png } from './browser.mjs';

const EMAIL = 'root@example.com';
const PASSWORD = 'Secret12345';

for (const dialect of await dialects()) {
  describe(`dashboard in Chromium [${dialect.name}]`, { skip: dialect.skip }, () => {
    let server;
    let ui;
    let page;

    before(async () => {
      // The webhook test's receiver listens on 127.0.0.1, which webhooks
      // may only call when the outbound policy allows private addresses.
      server = await startServer({ dialect: dialect.name, env: { HG_OUTBOUND_WEBHOOKS_PRIVATE: 'true' } });
      ui = await openBrowser(dialect.name);
    });
    after(async () => {
      await ui?.close();
      await server?.stop();
    });

    const sidebar = () => page.getByRole('navigation', { name: 'Main' });
    const dialog = (name) => page.getByRole('dialog', { name });
    const rows = () => page.locator('table.data tbody tr[data-id]');

    async function newField(type, name) {
      await page.getByRole('button', { name: '+ New field' }).click();
      await page.getByRole('menuitem', { name: type }).click();
      const field = page.locator('.field-row').last();
      await field.getByRole('textbox', { name: /^Field \d+ name$/ }).fill(name);
      return page.locator(`[data-field="${name}"]`);
    }

    async function signIn(email, password, staff = false) {
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(password);
      if (staff) await page.getByLabel('Staff account').check();
      await page.getByRole('button', { name: 'Sign in' }).click();
    }

    it('creates the first superuser from the one-time install link', async () => {
      page = await ui.page(installLink(server));
      await page.getByRole('heading', { name: 'Welcome to Hatchgrid' }).waitFor();
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByLabel('Confirm password').fill('not the same');
      await page.getByRole('button', { name: 'Create superuser and sign in' }).click();
      await page.getByText("Values don't match.").waitFor();
      await page.getByLabel('Confirm password').fill(PASSWORD);
      await ui.shot(page, 'install');
      await page.getByRole('button', { name: 'Create superuser and sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      // The link is spent: a superuser exists now.
      const res = await fetch(`${server.url}/api/hg/install`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: installLink(server).split('/install/')[1], email: 'x@example.com', password: PASSWORD, passwordConfirm: PASSWORD }),
      });
      assert.equal(res.status, 403);
    });

    it('has a favicon, so the browser asks for no missing /favicon.ico', async () => {
      const icon = await page.evaluate(async () => {
        const href = document.querySelector('link[rel="icon"]')?.href;
        if (!href) return null;
        const res = await fetch(href);
        return { href, status: res.status, type: res.headers.get('content-type') };
      });
      assert.ok(icon, 'the dashboard declares no icon');
      assert.equal(icon.status, 200, `icon ${icon.href}`);
      assert.equal(icon.type, 'image/svg+xml');
    });

    it('signs out and in again, refusing a wrong password', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await signIn(EMAIL, 'wrong password');
      await page.getByRole('alert').filter({ hasText: /Failed to authenticate/ }).waitFor();
      await ui.shot(page, 'login');
      await signIn(EMAIL, PASSWORD);
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
    });

    it('creates collections with text, number, select, relation and file fields', async () => {
      // The relation's target first.
      await sidebar().getByRole('button', { name: 'New collection' }).click();
      await dialog('New collection').getByLabel('Name', { exact: true }).fill('authors');
      const name = await newField('Plain text', 'name');
      await name.getByLabel('Presentable').check();
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      await page.getByRole('heading', { name: 'authors' }).waitFor();

      await sidebar().getByRole('button', { name: 'New collection' }).click();
      const d = dialog('New collection');
      await d.getByLabel('Name', { exact: true }).fill('posts');
      const title = await newField('Plain text', 'title');
      await title.getByLabel('Nonempty').check();
      await title.getByLabel('Max length').fill('100');
      const views = await newField('Number', 'views');
      await views.getByLabel('Integers only').check();
      const status = await newField('Select', 'status');
      await status.getByLabel('Choices').fill('draft, published');
      const author = await newField('Relation', 'author');
      await author.getByLabel('Collection').selectOption({ label: 'authors' });
      const cover = await newField('File', 'cover');
      await cover.getByLabel('Allowed MIME types').fill('image/png, image/jpeg');
      await d.getByRole('button', { name: '+ Unique index' }).click();
      await d.getByLabel('Index 1', { exact: true }).fill('CREATE UNIQUE INDEX `idx_posts_title` ON `posts` (`title`)');
      await d.getByRole('tab', { name: 'API rules' }).click();
      // Autocomplete of field names in a rule.
      await d.locator('.rule').filter({ hasText: 'listRule' }).getByLabel('Superusers only').uncheck();
      const rule = d.getByRole('textbox', { name: 'listRule' });
      await rule.fill('sta');
      await d.getByRole('option', { name: 'status' }).waitFor();
      await rule.press('Enter');
      await rule.pressSequentially(' != "draft"');
      assert.equal(await rule.inputValue(), 'status != "draft"');
      await ui.shot(page, 'collection-editor');
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      await page.getByRole('heading', { name: 'posts' }).waitFor();

      const pb = server.client();
      await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
      const posts = await pb.collections.getOne('posts');
      const byName = Object.fromEntries(posts.fields.map((f) => [f.name, f]));
      assert.equal(byName.title.required, true);
      assert.equal(byName.title.max, 100);
      assert.equal(byName.views.onlyInt, true);
      assert.deepEqual(byName.status.values, ['draft', 'published']);
      assert.equal(byName.author.collectionId, (await pb.collections.getOne('authors')).id);
      assert.deepEqual(byName.cover.mimeTypes, ['image/png', 'image/jpeg']);
      assert.equal(posts.listRule, 'status != "draft"');
      assert.equal(posts.indexes.length, 1);
      await pb.collection('authors').create({ name: 'Ada Lovelace' });
      await pb.collection('authors').create({ name: 'Grace Hopper' });
    });

    it('edits an auth collection\'s mail template and token duration', async () => {
      await sidebar().getByRole('link', { name: '_staff' }).click();
      await page.getByRole('button', { name: 'Edit collection' }).click();
      const d = dialog('Edit _staff');
      await d.getByRole('tab', { name: 'Options' }).click();
      await d.getByRole('button', { name: 'Mail templates' }).click();
      await d.getByRole('button', { name: 'Reset password', exact: true }).click();
      await d.getByRole('group', { name: 'Reset password template' }).getByLabel('Subject').fill('Reset your {APP_NAME} password now');
      await d.getByRole('button', { name: 'Token options' }).click();
      await d.getByLabel('Auth token duration (seconds)').fill('5');
      await d.getByRole('button', { name: 'Save changes' }).click();
      await d.getByText('Must be no less than 10.').first().waitFor();
      await d.getByLabel('Auth token duration (seconds)').fill('3600');
      await ui.shot(page, 'auth-options');
      await d.getByRole('button', { name: 'Save changes' }).click();
      await d.waitFor({ state: 'detached' });

      const pb = server.client();
      await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
      const staff = await pb.collections.getOne('_staff');
      assert.equal(staff.resetPasswordTemplate.subject, 'Reset your {APP_NAME} password now');
      assert.match(staff.resetPasswordTemplate.body, /\{TOKEN\}/);
      assert.equal(staff.authToken.duration, 3600);
      await sidebar().getByRole('link', { name: 'posts' }).click();
    });

    it('adds records, one with a file upload and a relation', async () => {
      const add = async ({ title, views, status, author, file }) => {
        await page.getByRole('button', { name: '+ New record' }).click();
        const d = dialog('New posts record');
        await d.getByLabel('title').fill(title);
        await d.getByLabel('views').fill(String(views));
        await d.getByLabel('status').selectOption(status);
        if (author) {
          await d.getByRole('button', { name: 'Select author' }).click();
          await d.getByRole('searchbox', { name: 'Search authors' }).fill(author.split(' ')[0]);
          await d.getByRole('button', { name: new RegExp(author) }).click();
        }
        if (file) {
          await d.getByLabel('cover').setInputFiles({ name: 'cover.png', mimeType: 'image/png', buffer: png() });
          await d.getByText('cover.png').waitFor();
          await ui.shot(page, 'record-editor');
        }
        await d.getByRole('button', { name: 'Create', exact: true }).click();
        await dialog('New posts record').waitFor({ state: 'detached' });
      };
      await add({ title: 'First post', views: 3, status: 'published', author: 'Ada Lovelace', file: true });
      await add({ title: 'Second post', views: 12, status: 'draft' });
      await add({ title: 'Third post', views: 7, status: 'published', author: 'Grace Hopper' });
      await page.getByTestId('total').filter({ hasText: '3 records' }).waitFor();
      // The relation shows the author's presentable name, the file a thumbnail.
      const first = rows().filter({ hasText: 'First post' });
      await first.getByText('Ada Lovelace').waitFor();
      const thumb = first.locator('img.thumb');
      await thumb.waitFor();
      assert.ok(await thumb.evaluate((img) => img.complete && img.naturalWidth > 0), 'the thumbnail loaded');
    });

    it('filters and sorts the table, and shows a bad filter as an error', async () => {
      await page.getByLabel('Filter').fill('views > 5');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByTestId('total').filter({ hasText: '2 records' }).waitFor();
      await page.getByLabel('Filter').fill('views >');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByTestId('list-error').waitFor();
      await page.getByRole('button', { name: 'Clear' }).click();
      await page.getByTestId('total').filter({ hasText: '3 records' }).waitFor();

      await page.getByRole('button', { name: /^views/ }).click();
      await page.waitForFunction(() => document.querySelector('table.data tbody tr[data-id]')?.textContent.includes('First post'));
      await page.getByRole('button', { name: /^views/ }).click();
      await page.waitForFunction(() => document.querySelector('table.data tbody tr[data-id]')?.textContent.includes('Second post'));
      await ui.shot(page, 'records');
      // A narrow laptop window, and dark mode.
      await page.setViewportSize({ width: 800, height: 700 });
      await page.getByRole('button', { name: 'Toggle dark mode' }).click();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
      await ui.shot(page, 'records-dark-800px');
      await page.getByRole('button', { name: 'Toggle dark mode' }).click();
      await page.setViewportSize({ width: 1280, height: 860 });
    });

    it('edits a record and shows the validation error inline', async () => {
      await rows().filter({ hasText: 'Third post' }).getByRole('button').first().click();
      const d = page.getByRole('dialog', { name: /^posts / });
      await d.getByLabel('title').fill('');
      await d.getByRole('button', { name: 'Save changes' }).click();
      await d.getByText('Cannot be blank.').waitFor();
      await d.getByLabel('title').fill('Third post, edited');
      await d.getByRole('button', { name: 'Save changes' }).click();
      await d.waitFor({ state: 'detached' });
      await rows().filter({ hasText: 'Third post, edited' }).waitFor();
    });

    it('deletes a record, and several at once', async () => {
      await rows().filter({ hasText: 'Second post' }).getByRole('button').first().click();
      await page.getByRole('dialog', { name: /^posts / }).getByRole('button', { name: 'Delete record' }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
      await page.getByTestId('total').filter({ hasText: '2 records' }).waitFor();

      await page.getByRole('link', { name: 'authors' }).click();
      await page.getByTestId('total').filter({ hasText: '2 records' }).waitFor();
      await page.getByLabel('Select all').check();
      await page.getByRole('button', { name: 'Delete selected' }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
      await page.getByTestId('total').filter({ hasText: '0 records' }).waitFor();
    });

    it('creates a role and a staff account, and checks their access', async () => {
      await sidebar().getByRole('link', { name: 'Roles & access' }).click();
      await page.getByRole('button', { name: 'Policies', exact: true }).click();
      const policy = async (subject, resource, action) => {
        await page.getByRole('button', { name: 'New policy' }).click();
        const d = dialog('New policy');
        await d.getByLabel('Subject').fill(subject);
        await d.getByLabel('Resource').fill(resource);
        await d.getByLabel('Action').fill(action);
        await d.getByRole('button', { name: 'Create policy' }).click();
        await d.waitFor({ state: 'detached' });
      };
      await policy('role:editor', 'collection:*', '*');
      await policy('role:editor', 'admin:schema', 'read');

      await page.getByRole('button', { name: 'Staff accounts', exact: true }).click();
      await page.getByRole('button', { name: 'New staff account' }).click();
      const d = dialog('New staff account');
      await d.getByLabel('Email').fill('staff@example.com');
      await d.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await d.getByLabel('Password confirm').fill(PASSWORD);
      await d.getByRole('checkbox', { name: 'editor' }).check();
      await d.getByRole('button', { name: 'Create staff account' }).click();
      await d.waitFor({ state: 'detached' });
      await page.getByRole('cell', { name: 'staff@example.com', exact: true }).waitFor();

      await page.getByRole('button', { name: 'Check access', exact: true }).click();
      const check = async (resource, action, want) => {
        await page.getByLabel('Subject').selectOption({ label: '_staff/staff@example.com' });
        await page.getByLabel('Resource').fill(resource);
        await page.getByLabel('Action').fill(action);
        await page.getByRole('button', { name: 'Check', exact: true }).click();
        await page.getByRole('status').filter({ hasText: want }).waitFor();
      };
      await check('admin:settings', 'write', 'Denied');
      await check('admin:schema', 'read', 'Allowed');
      await ui.shot(page, 'roles');
    });

    it('shows the jobs, logs and settings screens', async () => {
      await sidebar().getByRole('link', { name: 'Jobs' }).click();
      await page.getByRole('list', { name: 'Queues' }).waitFor();
      await page.getByRole('table', { name: 'Cron schedules' }).waitFor();
      await ui.shot(page, 'jobs');
      await sidebar().getByRole('link', { name: 'Logs' }).click();
      await page.getByRole('table', { name: 'Logs' }).waitFor();
      await ui.shot(page, 'logs');
      await sidebar().getByRole('link', { name: 'Settings' }).click();
      await page.getByLabel('Application name').waitFor();
      await ui.shot(page, 'settings');
      await sidebar().getByRole('link', { name: 'Cluster' }).click();
      const instances = page.getByRole('table', { name: 'Instances' });
      await instances.getByText('this one').waitFor();
      assert.equal(await instances.locator('tbody tr').count(), 1, 'one instance without Redis');
      await page.getByText('single instance').waitFor();
      await ui.shot(page, 'cluster');
    });

    it('configures a webhook and shows its signed delivery', async () => {
      const received = [];
      const receiver = createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          received.push({ headers: req.headers, body: Buffer.concat(chunks) });
          res.end('ok');
        });
      });
      await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      try {
        await sidebar().getByRole('link', { name: 'Webhooks' }).click();
        await page.getByRole('button', { name: 'New webhook' }).click();
        const d = dialog('New webhook');
        await d.getByLabel('Collection').selectOption('posts');
        await d.getByRole('checkbox', { name: 'update' }).uncheck();
        await d.getByRole('checkbox', { name: 'delete' }).uncheck();
        await d.getByLabel('URL').fill('ftp://example.com/hook');
        await d.getByRole('button', { name: 'Generate' }).click();
        const secret = await d.getByLabel('Signing secret').inputValue();
        assert.match(secret, /^[0-9a-f]{48}$/);
        await d.getByRole('button', { name: 'Create webhook' }).click();
        await d.getByText('Must be an http or https URL.').waitFor();
        await d.getByLabel('URL').fill(`http://127.0.0.1:${receiver.address().port}/hook`);
        await d.getByRole('button', { name: 'Create webhook' }).click();
        await d.waitFor({ state: 'detached' });

        const pb = server.client();
        await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
        const rec = await pb.collection('posts').create({ title: 'Hooked post', views: 1, status: 'draft' });
        for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal(received.length, 1, 'one delivery');
        const want = 'sha256=' + createHmac('sha256', secret).update(received[0].body).digest('hex');
        assert.equal(received[0].headers['x-hatchgrid-signature'], want);
        assert.equal(JSON.parse(received[0].body).record.id, rec.id);

        await page.getByRole('button', { name: 'Deliveries' }).click();
        await page.getByRole('table', { name: 'Deliveries' }).getByText('delivered').waitFor();
        await ui.shot(page, 'webhooks');
      } finally {
        receiver.close();
      }
    });

    it('lists collection and policy changes in the audit log, with their diff', async () => {
      await sidebar().getByRole('link', { name: 'Audit log' }).click();
      const table = page.getByRole('table', { name: 'Audit entries' });
      await table.waitFor();
      // The _staff edit above: by the superuser, its diff key by key.
      await page.getByLabel('Kind').selectOption('collection');
      await page.getByLabel('Action').selectOption('collection.update');
      const staff = table.locator('tbody tr').filter({ hasText: '_staff' }).first();
      await staff.getByText(EMAIL).waitFor();
      await page.waitForFunction(() => {
        const trs = [...document.querySelectorAll('table[aria-label="Audit entries"] tbody tr')];
        return trs.length > 0 && trs.every((tr) => tr.textContent.includes('collection.update'));
      });
      await ui.shot(page, 'audit');
      await staff.getByRole('button', { name: /^Open entry/ }).click();
      const d = dialog('Audit entry');
      await d.getByText(EMAIL).waitFor();
      const changes = d.getByRole('table', { name: 'Changes' });
      const subject = changes.locator('tr[data-key="resetPasswordTemplate.subject"]');
      await subject.locator('td.after').getByText('Reset your {APP_NAME} password now').waitFor();
      await changes.locator('tr[data-key="authToken.duration"] td.after').getByText('3600', { exact: true }).waitFor();
      await ui.shot(page, 'audit-entry');
      await d.getByRole('button', { name: 'Close', exact: true }).first().click();
      await d.waitFor({ state: 'detached' });

      // The policies made on the roles screen, named "subject resource action".
      await page.getByLabel('Kind').selectOption('policy');
      await table.locator('tbody tr').filter({ hasText: 'role:editor admin:schema read' }).getByText('policy.create').waitFor();
      assert.equal(await page.getByLabel('Action').inputValue(), '', 'the action filter resets with another kind');
    });

    it('makes a backup and deletes it on SQLite, and points to pg_dump on PostgreSQL', async () => {
      await sidebar().getByRole('link', { name: 'Backups' }).click();
      if (dialect.name === 'postgres') {
        const notice = page.getByRole('note', { name: 'Backups unavailable' });
        await notice.getByText(/^Backups are not supported on PostgreSQL.*pg_dump.*pg_restore/).waitFor();
        assert.equal(await page.getByRole('button', { name: 'Create backup' }).count(), 0, 'no backup form');
        await ui.shot(page, 'backups');
        return;
      }
      await page.getByText('No backups yet.').waitFor();
      await page.getByLabel('Backup name (optional)').fill('ui_test.zip');
      await page.getByRole('button', { name: 'Create backup' }).click();
      const row = page.getByRole('table', { name: 'Backups' }).locator('tr[data-key="ui_test.zip"]');
      await row.waitFor();
      await ui.shot(page, 'backups');
      const pb = server.client();
      await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
      assert.deepEqual((await pb.backups.getFullList()).map((b) => b.key), ['ui_test.zip']);

      await row.getByRole('button', { name: 'Delete ui_test.zip' }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Delete backup' });
      await confirm.getByText(/ui_test\.zip/).waitFor();
      await confirm.getByRole('button', { name: 'Delete' }).click();
      await row.waitFor({ state: 'detached' });
      await page.getByText('No backups yet.').waitFor();
      assert.deepEqual(await pb.backups.getFullList(), []);
    });

    it('lets the staff account see only the screens its role allows', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn('staff@example.com', PASSWORD, true);
      await sidebar().getByRole('link', { name: 'posts' }).waitFor();
      for (const screen of ['Roles & access', 'Jobs', 'Webhooks', 'Logs', 'Audit log', 'Backups', 'Settings', 'Cluster']) {
        assert.equal(await sidebar().getByRole('link', { name: screen }).count(), 0, `${screen} is hidden`);
      }
      assert.equal(await sidebar().getByRole('button', { name: 'New collection' }).count(), 0, 'no schema writes');
      await sidebar().getByRole('link', { name: 'posts' }).click();
      // Casbin lets the role in; the listRule still hides the draft.
      await page.getByTestId('total').filter({ hasText: '2 records' }).waitFor();
      await ui.shot(page, 'staff');

      await page.goto(`${server.url}/_/#/settings`);
      await page.getByText('may not open it').waitFor();
      // Hidden is not enough: the API refuses the staff account too.
      const statuses = await page.evaluate(async () => {
        const { token } = JSON.parse(localStorage.getItem('hg_dashboard_auth'));
        const get = async (url) => (await fetch(url, { headers: { Authorization: token } })).status;
        return [await get('/api/settings'), await get('/api/hg/audit')];
      });
      assert.deepEqual(statuses, [403, 403]);
    });

    it('signs the staff account out once its session no longer works', async () => {
      await page.goto(`${server.url}/_/#/collections/posts`);
      await page.getByTestId('total').waitFor();
      // A new password invalidates every token issued before it.
      const pb = server.client();
      await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
      const staff = await pb.collection('_staff').getFirstListItem('email = "staff@example.com"');
      await pb.collection('_staff').update(staff.id, { password: 'Another12345', passwordConfirm: 'Another12345' });
      // Coming back to the tab asks the server whether the session still works.
      await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
      await page.getByText('Your session has expired. Please sign in again.').first().waitFor();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      assert.equal(await page.evaluate(() => localStorage.getItem('hg_dashboard_auth')), null);
    });

    it('logged no errors in the browser', () => {
      ui.assertNoErrors();
    });
  });
}
