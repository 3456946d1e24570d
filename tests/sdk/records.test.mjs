// Collections and records through the official pocketbase SDK, against a
// real hatchgrid server on each dialect.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ClientResponseError } from 'pocketbase';

import { dialects, startServer } from './harness.mjs';

async function rejectsWith(promise, status) {
  const err = await promise.then(
    (value) => assert.fail(`expected ${status}, got success: ${JSON.stringify(value)}`),
    (e) => e,
  );
  assert.ok(err instanceof ClientResponseError, `expected a ClientResponseError, got ${err?.stack || err}`);
  assert.equal(err.status, status, `status; response: ${JSON.stringify(err.response)}`);
  return err;
}

const everyField = [
  { name: 'title', type: 'text', required: true, max: 100 },
  { name: 'views', type: 'number', onlyInt: true },
  { name: 'live', type: 'bool' },
  { name: 'contact', type: 'email' },
  { name: 'site', type: 'url' },
  { name: 'body', type: 'editor' },
  { name: 'due', type: 'date' },
  { name: 'created', type: 'autodate', onCreate: true },
  { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
  { name: 'status', type: 'select', values: ['draft', 'live'] },
  { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
  { name: 'meta', type: 'json' },
  { name: 'cover', type: 'file', maxSelect: 1 },
  { name: 'secret', type: 'password' },
  { name: 'where', type: 'geoPoint' },
];

for (const dialect of await dialects()) {
  describe(`collections and records via the pocketbase SDK [${dialect.name}]`, { skip: dialect.skip }, () => {
    let server;
    let admin;
    let authorsId;

    before(async () => {
      server = await startServer({ dialect: dialect.name });
      const res = await server.cli('superuser', 'upsert', 'admin@example.com', 'Secret12345');
      assert.equal(res.code, 0, res.stderr);
      admin = server.client();
      await admin.collection('_superusers').authWithPassword('admin@example.com', 'Secret12345');
    });

    after(async () => {
      await server?.stop();
    });

    it('creates collections with every field type', async () => {
      const authors = await admin.collections.create({
        name: 'authors', type: 'base', listRule: '', viewRule: '',
        fields: [{ name: 'name', type: 'text', required: true }],
      });
      authorsId = authors.id;
      const posts = await admin.collections.create({
        name: 'posts', type: 'base',
        listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '',
        fields: [...everyField, { name: 'author', type: 'relation', collectionId: authors.id }],
        indexes: ['CREATE INDEX idx_posts_views ON posts (views)'],
      });
      const types = Object.fromEntries(posts.fields.map((f) => [f.name, f.type]));
      for (const f of everyField) assert.equal(types[f.name], f.type, f.name);
      assert.equal(types.id, 'text');
      assert.equal(posts.listRule, '');

      const fetched = await admin.collections.getOne('posts');
      assert.equal(fetched.id, posts.id);
      const all = await admin.collections.getFullList();
      assert.ok(all.some((c) => c.name === '_superusers'));
    });

    it('refuses bad collection definitions with field errors', async () => {
      const err = await rejectsWith(admin.collections.create({ name: 'bad name' }), 400);
      assert.equal(err.response.data.name.code, 'validation_invalid_name');
      const guest = server.client();
      await rejectsWith(guest.collections.getFullList(), 401);
    });

    it('creates, lists, filters, sorts, updates with modifiers and deletes records', async () => {
      const pb = server.client(); // a guest: the rules above allow everything
      const ann = await admin.collection('authors').create({ name: 'Ann' });
      const a = await pb.collection('posts').create({
        title: 'First', views: 3, live: true, contact: 'a@example.com', site: 'https://example.com',
        body: '<p>hi</p>', due: '2030-01-02 03:04:05.000Z', status: 'draft', tags: ['a'],
        meta: { k: [1, 2] }, secret: 'hunter22', where: { lon: 10, lat: 20 }, author: ann.id,
      });
      assert.equal(a.title, 'First');
      assert.equal(a.views, 3);
      assert.deepEqual(a.tags, ['a']);
      assert.deepEqual(a.meta, { k: [1, 2] });
      assert.deepEqual(a.where, { lon: 10, lat: 20 });
      assert.equal(a.secret, undefined, 'password fields are never returned');
      assert.match(a.id, /^[a-z0-9]{15}$/);
      assert.match(a.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);

      await pb.collection('posts').create({ title: 'Second', views: 10, status: 'live', tags: ['b', 'c'] });
      await pb.collection('posts').create({ title: "O'Brien's \"quote\" -- ; '||'", views: 7 });

      const page = await pb.collection('posts').getList(1, 2, { filter: 'views > 1', sort: '-views' });
      assert.equal(page.totalItems, 3);
      assert.equal(page.totalPages, 2);
      assert.deepEqual(page.items.map((r) => r.views), [10, 7]);

      const byAuthor = await pb.collection('posts').getFullList({ filter: pb.filter('author.name = {:n}', { n: 'Ann' }) });
      assert.deepEqual(byAuthor.map((r) => r.id), [a.id]);

      const hostile = "O'Brien's \"quote\" -- ; '||'";
      const found = await pb.collection('posts').getFirstListItem(pb.filter('title = {:t}', { t: hostile }));
      assert.equal(found.title, hostile);
      const none = await pb.collection('posts').getList(1, 30, { filter: pb.filter('title = {:t}', { t: "' OR '1'='1" }) });
      assert.equal(none.totalItems, 0);

      const updated = await pb.collection('posts').update(a.id, { 'views+': 5, 'tags+': ['c'], '+tags': 'b' });
      assert.equal(updated.views, 8);
      assert.deepEqual(updated.tags, ['b', 'a', 'c']);
      const removed = await pb.collection('posts').update(a.id, { 'tags-': ['a'] });
      assert.deepEqual(removed.tags, ['b', 'c']);

      const invalid = await rejectsWith(pb.collection('posts').update(a.id, { status: 'nope', views: 1.5 }), 400);
      assert.equal(invalid.response.data.status.code, 'validation_invalid_value');
      assert.equal(invalid.response.data.views.code, 'validation_only_int_constraint');

      await rejectsWith(pb.collection('posts').getList(1, 30, { filter: 'views >' }), 400);
      await rejectsWith(pb.collection('posts').getOne('aaaaaaaaaaaaaaa'), 404);

      await pb.collection('posts').delete(a.id);
      await rejectsWith(pb.collection('posts').getOne(a.id), 404);
    });

    it('keeps superuser-only collections closed', async () => {
      await admin.collections.create({ name: 'private', fields: [{ name: 'x', type: 'text' }] });
      const guest = server.client();
      const err = await rejectsWith(guest.collection('private').getList(), 403);
      assert.equal(err.response.message, 'Only superusers can perform this action.');
      const list = await admin.collection('private').getList();
      assert.equal(list.totalItems, 0);
    });

    it('serves view collections', async () => {
      await admin.collections.create({
        name: 'busy', type: 'view', listRule: '', viewRule: '',
        viewQuery: 'SELECT id, title, views FROM posts WHERE views >= 7',
      });
      const rows = await server.client().collection('busy').getFullList({ sort: 'views' });
      assert.deepEqual(rows.map((r) => r.views), [7, 10]);
      await rejectsWith(admin.collections.delete('posts'), 400);
    });

    it('truncates and deletes collections', async () => {
      await admin.collections.truncate('private');
      await admin.collections.delete('private');
      await rejectsWith(admin.collections.getOne('private'), 404);
      assert.ok(authorsId);
    });
  });
}
