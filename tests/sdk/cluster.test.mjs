// Three instances behind an imaginary load balancer (tests/cluster: one
// PostgreSQL schema, one Redis database, one S3 bucket), driven through the
// official pocketbase SDK with each request sent to another instance:
// realtime events cross instances, filtered by each client's rules; a
// collection and a Casbin policy made on one are in force on the others at
// once; a file stored through one downloads through another, thumbnail
// too; rate limits count across instances; a cron tick runs once.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { EventSource } from 'eventsource';

import { dialects, startCluster } from './harness.mjs';

globalThis.EventSource = EventSource;

const PASSWORD = 'Secret12345';

/** Waits until `list` holds an item that `pred` accepts and returns it. */
async function waitFor(list, pred, what, ms = 5_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = list.find(pred);
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`no ${what} within ${ms} ms; got ${JSON.stringify(list)}`);
    await sleep(5);
  }
}

// A cluster needs a database that several processes share: PostgreSQL.
const pg = (await dialects()).find((d) => d.name === 'postgres');

describe('a cluster of 3 instances via the pocketbase SDK [postgres]', { skip: pg.skip }, () => {
  let cluster;
  let admins; // a superuser client per instance: admins[i] talks to instance i
  let a, b, c;

  before(async () => {
    cluster = await startCluster({ size: 3 });
    admins = cluster.clients();
    [a, b, c] = admins;
    const { email, password } = cluster.info.superuser;
    await Promise.all(admins.map((pb) => pb.collection('_superusers').authWithPassword(email, password)));
  });

  after(async () => {
    for (const pb of admins ?? []) pb.realtime.unsubscribe().catch(() => {});
    await cluster?.stop();
  });

  it('lists all three instances as members, on each of them', async () => {
    for (const pb of admins) {
      const st = await pb.send('/api/hg/cluster', {});
      assert.equal(st.mode, 'redis');
      assert.equal(st.members.length, 3, JSON.stringify(st.members));
      assert.equal(st.members.filter((m) => m.self).length, 1);
    }
    const health = await fetch(`${cluster.urls[1]}/api/health`, { headers: { Authorization: b.authStore.token } }).then((r) => r.json());
    assert.equal(health.data.cluster.members.length, 3);
  });

  it('makes a collection created on A usable on B and C on the very next request', async () => {
    const users = await a.collections.create({ name: 'users', type: 'auth', createRule: '', viewRule: 'id = @request.auth.id', fields: [] });
    const rec = await b.collection('users').create({ email: 'alice@example.com', password: PASSWORD, passwordConfirm: PASSWORD });
    assert.equal((await c.collection('users').getOne(rec.id)).email, 'alice@example.com');
    await c.collections.update('users', { listRule: 'id = @request.auth.id' });
    const guest = cluster.clients()[0];
    // The rule set on C is enforced on A: a guest sees nothing.
    assert.equal((await guest.collection('users').getList(1, 10)).totalItems, 0);
    assert.ok(users.id);
  });

  it('delivers create, update and delete made on A to subscribers on C within 1 s, each filtered by its rules', async () => {
    const users = await a.collections.getOne('users');
    await b.collections.create({
      name: 'notes', type: 'base',
      listRule: 'owner = @request.auth.id', viewRule: 'owner = @request.auth.id',
      fields: [{ name: 'title', type: 'text' }, { name: 'owner', type: 'relation', collectionId: users.id }],
    });
    const [alice, bob] = [cluster.clients()[2], cluster.clients()[2]]; // both on C
    await a.collection('users').create({ email: 'bob@example.com', password: PASSWORD, passwordConfirm: PASSWORD });
    await alice.collection('users').authWithPassword('alice@example.com', PASSWORD);
    await bob.collection('users').authWithPassword('bob@example.com', PASSWORD);

    const got = { alice: [], bob: [] };
    const stamp = (list) => (e) => list.push({ action: e.action, id: e.record.id, title: e.record.title, at: Date.now() });
    const unsubAlice = await alice.collection('notes').subscribe('*', stamp(got.alice));
    const unsubBob = await bob.collection('notes').subscribe('*', stamp(got.bob));
    try {
      const latencies = [];
      const sent = Date.now();
      const note = await a.collection('notes').create({ title: 'first', owner: alice.authStore.record.id });
      latencies.push((await waitFor(got.alice, (e) => e.action === 'create' && e.id === note.id, 'create on C')).at - sent);

      const sent2 = Date.now();
      await a.collection('notes').update(note.id, { title: 'second' });
      const upd = await waitFor(got.alice, (e) => e.action === 'update' && e.id === note.id, 'update on C');
      assert.equal(upd.title, 'second');
      latencies.push(upd.at - sent2);

      const sent3 = Date.now();
      await a.collection('notes').delete(note.id);
      latencies.push((await waitFor(got.alice, (e) => e.action === 'delete' && e.id === note.id, 'delete on C')).at - sent3);

      // Bob may not view Alice's note: a note of his own, made after hers,
      // arrives, and nothing about hers ever did.
      const his = await b.collection('notes').create({ title: 'bobs', owner: bob.authStore.record.id });
      await waitFor(got.bob, (e) => e.id === his.id, "bob's own note");
      assert.deepEqual(got.bob.filter((e) => e.id === note.id), [], 'bob got no event for alice\'s note');
      assert.deepEqual(got.alice.filter((e) => e.id === his.id), [], 'alice got no event for bob\'s note');

      for (const ms of latencies) assert.ok(ms < 1_000, `event took ${ms} ms (want < 1 s): ${latencies}`);
      console.log(`# cross-instance event latencies (ms): ${latencies.join(', ')}`);
    } finally {
      await unsubAlice();
      await unsubBob();
    }
  });

  it('enforces a Casbin policy made on A on C at the next request, and its revocation too', async () => {
    const alice = cluster.clients()[2];
    await alice.collection('users').authWithPassword('alice@example.com', PASSWORD);
    await assert.rejects(alice.logs.getList(1, 1), (err) => err.status === 403);
    const users = await b.collections.getOne('users');
    const policy = await a.send('/api/hg/policies', {
      method: 'POST',
      body: { subject: `record:${users.id}/${alice.authStore.record.id}`, resource: 'admin:logs', action: 'read' },
    });
    await alice.logs.getList(1, 1); // C, right after the change on A
    await b.send(`/api/hg/policies/${policy.id}`, { method: 'PATCH', body: { effect: 'deny' } });
    await assert.rejects(alice.logs.getList(1, 1), (err) => err.status === 403);
  });

  it('stores a file through A in S3 and serves it and its thumbnail through B', async () => {
    await c.collections.create({
      name: 'photos', type: 'base', listRule: '', viewRule: '',
      fields: [{ name: 'image', type: 'file', maxSelect: 1, maxSize: 1 << 20, thumbs: ['20x10'] }],
    });
    // A 40x30 PNG, one colour.
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAACgAAAAeCAIAAADRv8uKAAAAKUlEQVR42u3NsQ0AAAgDoJ7u5/YMHUjYyU5ORCwWi8VisVgsFovFf+MCH+4Dupk1lpMAAAAASUVORK5CYII=',
      'base64',
    );
    const form = new FormData();
    form.append('image', new Blob([png], { type: 'image/png' }), 'pixel.png');
    const rec = await a.collection('photos').create(form);

    const url = b.files.getURL(rec, rec.image);
    assert.ok(url.startsWith(cluster.urls[1]), url);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), png);

    const thumb = await fetch(b.files.getURL(rec, rec.image, { thumb: '20x10' }));
    assert.equal(thumb.status, 200);
    const body = Buffer.from(await thumb.arrayBuffer());
    assert.equal(body.subarray(1, 4).toString(), 'PNG');
    assert.deepEqual([body.readUInt32BE(16), body.readUInt32BE(20)], [20, 10], 'thumbnail size');

    // The bytes are in the bucket, not on an instance's disk.
    const s3 = cluster.info.s3;
    const listing = await fetch(`${s3.endpoint}/${s3.bucket}?list-type=2`).then((r) => r.text());
    assert.match(listing, new RegExp(`${rec.id}/${rec.image.replace('.', '\\.')}`));
  });

  it('counts a rate limit across instances: 5 of 10 requests pass', async () => {
    await c.collections.create({ name: 'limited', type: 'base', listRule: '', fields: [{ name: 'n', type: 'number' }] });
    await a.settings.update({
      rateLimits: { enabled: true, rules: [{ label: '/api/collections/limited/records', audience: '@guest', duration: 60, maxRequests: 5 }] },
    });
    const guests = cluster.clients();
    const statuses = [];
    for (let i = 0; i < 10; i++) {
      const pb = guests[i % 3];
      statuses.push(await pb.collection('limited').getList(1, 1).then(() => 200, (err) => err.status));
    }
    assert.equal(statuses.filter((s) => s === 200).length, 5, `statuses: ${statuses}`);
    assert.equal(statuses.filter((s) => s === 429).length, 5, `statuses: ${statuses}`);
    await b.settings.update({ rateLimits: { enabled: false } });
  });

  it('runs a cron tick once across the cluster, not once per instance', async () => {
    // testnode's cron entry fires every 2 s on each instance.
    await sleep(7_000);
    const runs = await c.send('/api/test/ticks', {});
    const ticks = new Map();
    for (const r of runs) ticks.set(r.tick, (ticks.get(r.tick) ?? 0) + 1);
    assert.ok(ticks.size >= 3, `at least 3 ticks in 7 s, got ${JSON.stringify(runs)}`);
    for (const [tick, n] of ticks) assert.equal(n, 1, `tick ${tick} ran ${n} times: ${JSON.stringify(runs)}`);
  });
});
