// Realtime (SSE) through the official pocketbase SDK: subscribe('*') and
// subscribe(id) on collections, events filtered by each client's rules,
// options (expand, fields), unsubscribe. Node has no EventSource of its
// own; the SDK uses the `eventsource` package's.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { EventSource } from 'eventsource';

import { dialects, startServer } from './harness.mjs';

globalThis.EventSource = EventSource;

const WAIT_MS = 5_000;

/** Waits until `list` holds an item that `pred` accepts and returns it. */
async function waitFor(list, pred, what) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const found = list.find(pred);
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`no ${what} within ${WAIT_MS} ms; got ${JSON.stringify(list)}`);
    await sleep(20);
  }
}

for (const dialect of await dialects()) {
  describe(`realtime via the pocketbase SDK [${dialect.name}]`, { skip: dialect.skip }, () => {
    let server;
    let admin;
    let alice;
    let bob;
    let guest;
    const clients = () => [admin, alice, bob, guest].filter(Boolean);

    before(async () => {
      server = await startServer({ dialect: dialect.name });
      const res = await server.cli('superuser', 'upsert', 'admin@example.com', 'Secret12345');
      assert.equal(res.code, 0, res.stderr);
      admin = server.client();
      await admin.collection('_superusers').authWithPassword('admin@example.com', 'Secret12345');

      const users = await admin.collections.create({ name: 'users', type: 'auth', createRule: '', viewRule: 'id = @request.auth.id', fields: [] });
      await admin.collections.create({
        name: 'notes', type: 'base',
        listRule: 'owner = @request.auth.id', viewRule: 'owner = @request.auth.id',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'body', type: 'text' },
          { name: 'owner', type: 'relation', collectionId: users.id },
        ],
      });
      // Everyone sees "beacons": a beacon after the events a client must
      // not get proves they were handled (events of one server keep order).
      await admin.collections.create({ name: 'beacons', type: 'base', listRule: '', viewRule: '', fields: [{ name: 'n', type: 'number' }] });

      alice = server.client();
      bob = server.client();
      guest = server.client();
      for (const [pb, email] of [[alice, 'alice@example.com'], [bob, 'bob@example.com']]) {
        await pb.collection('users').create({ email, password: 'Secret12345', passwordConfirm: 'Secret12345' });
        await pb.collection('users').authWithPassword(email, 'Secret12345');
      }
    });

    after(async () => {
      for (const pb of clients()) await pb.realtime.unsubscribe().catch(() => {});
      await server?.stop();
    });

    it('sends create, update and delete only to the clients that may see the record', async () => {
      const got = { alice: [], bob: [], guest: [] };
      for (const [name, pb] of [['alice', alice], ['bob', bob], ['guest', guest]]) {
        await pb.collection('notes').subscribe('*', (e) => got[name].push(e));
        await pb.collection('beacons').subscribe('*', (e) => got[name].push({ beacon: e.record.n }));
      }

      const aliceNote = await admin.collection('notes').create({ title: 'a', owner: alice.authStore.record.id });
      const bobNote = await admin.collection('notes').create({ title: 'b', owner: bob.authStore.record.id });
      const created = await waitFor(got.alice, (e) => e.action === 'create', 'create for alice');
      assert.equal(created.record.id, aliceNote.id);
      assert.equal(created.record.title, 'a');
      assert.equal(created.record.collectionName, 'notes');
      await waitFor(got.bob, (e) => e.action === 'create' && e.record.id === bobNote.id, 'create for bob');

      await admin.collection('notes').update(aliceNote.id, { title: 'a2' });
      const updated = await waitFor(got.alice, (e) => e.action === 'update', 'update for alice');
      assert.equal(updated.record.title, 'a2');
      await admin.collection('notes').delete(aliceNote.id);
      const deleted = await waitFor(got.alice, (e) => e.action === 'delete', 'delete for alice');
      assert.equal(deleted.record.id, aliceNote.id);

      await admin.collection('beacons').create({ n: 1 });
      for (const name of ['alice', 'bob', 'guest']) await waitFor(got[name], (e) => e.beacon === 1, `beacon for ${name}`);
      assert.deepEqual(got.guest, [{ beacon: 1 }], 'the guest saw no note');
      assert.ok(!got.bob.some((e) => e.record?.id === aliceNote.id), "bob saw alice's note");
      assert.ok(!got.alice.some((e) => e.record?.id === bobNote.id), "alice saw bob's note");

      await alice.realtime.unsubscribe();
      await bob.realtime.unsubscribe();
      await guest.realtime.unsubscribe();
    });

    it('honours expand and fields, and unsubscribes', async () => {
      const note = await admin.collection('notes').create({ title: 't', body: 'long text', owner: alice.authStore.record.id });
      const events = [];
      const beacons = [];
      await alice.collection('notes').subscribe(note.id, (e) => events.push(e), { expand: 'owner', fields: 'id,title,expand.owner.email' });
      await alice.collection('beacons').subscribe('*', (e) => beacons.push(e.record.n));

      await admin.collection('notes').update(note.id, { title: 't2' });
      const ev = await waitFor(events, (e) => e.action === 'update', 'update of the subscribed record');
      assert.deepEqual(Object.keys(ev.record).sort(), ['expand', 'id', 'title']);
      assert.equal(ev.record.title, 't2');
      assert.deepEqual(ev.record.expand, { owner: { email: 'alice@example.com' } });

      await alice.collection('notes').unsubscribe(note.id);
      await admin.collection('notes').update(note.id, { title: 't3' });
      await admin.collection('beacons').create({ n: 2 });
      await waitFor(beacons, (n) => n === 2, 'beacon');
      assert.ok(!events.some((e) => e.record?.title === 't3'), 'an event arrived after unsubscribe');
      await alice.realtime.unsubscribe();
    });
  });
}
