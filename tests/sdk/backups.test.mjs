// Backups through the official pocketbase SDK's pb.backups: create, list,
// download with a file token, upload, delete and a restore that restarts
// the server on SQLite; on PostgreSQL every call is a 400 naming pg_dump.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { ClientResponseError } from 'pocketbase';

import { dialects, startServer } from './harness.mjs';

/** Awaits `promise`, which must reject with a ClientResponseError of `status`. */
async function rejectsWith(promise, status) {
  const err = await promise.then(
    (value) => assert.fail(`expected a ${status} ClientResponseError, got success: ${JSON.stringify(value)}`),
    (e) => e,
  );
  assert.ok(err instanceof ClientResponseError, `expected a ClientResponseError, got ${err?.stack || err}`);
  assert.equal(err.status, status, `status; response: ${JSON.stringify(err.response)}`);
  return err;
}

const EMAIL = 'backups@example.com';
const PASSWORD = 'Secret12345';

for (const dialect of await dialects()) {
  describe(`backups via the pocketbase SDK [${dialect.name}]`, { skip: dialect.skip }, () => {
    let server;
    let pb;

    before(async () => {
      server = await startServer({ dialect: dialect.name });
      const res = await server.cli('superuser', 'upsert', EMAIL, PASSWORD);
      assert.equal(res.code, 0, `superuser upsert: ${res.stdout}${res.stderr}`);
      pb = server.client();
      await pb.collection('_superusers').authWithPassword(EMAIL, PASSWORD);
    });

    // stop() fails the suite unless the server exits with code 0 on SIGTERM:
    // after a restore that is the re-executed process.
    after(async () => {
      await server?.stop();
    });

    if (dialect.name === 'postgres') {
      it('every backups call is a 400 that names pg_dump and pg_restore', async () => {
        const calls = [
          () => pb.backups.getFullList(),
          () => pb.backups.create('x.zip'),
          () => pb.backups.upload({ file: new File([new Uint8Array([80, 75, 5, 6])], 'x.zip') }),
          () => pb.backups.delete('x.zip'),
          () => pb.backups.restore('x.zip'),
        ];
        for (const call of calls) {
          const err = await rejectsWith(call(), 400);
          assert.match(err.response.message, /pg_dump/);
          assert.match(err.response.message, /pg_restore/);
        }
      });
      return;
    }

    it('guests cannot list backups', async () => {
      await rejectsWith(server.client().backups.getFullList(), 401);
    });

    it('create, list, download, upload, restore: the server comes back with the backup data', async () => {
      await pb.collections.create({
        name: 'notes',
        type: 'base',
        listRule: '',
        viewRule: '',
        createRule: '',
        fields: [{ name: 'title', type: 'text' }],
      });
      const a = await pb.collection('notes').create({ title: 'A' });

      await pb.backups.create('sdk_snap.zip');
      const list = await pb.backups.getFullList();
      const item = list.find((b) => b.key === 'sdk_snap.zip');
      assert.ok(item, `sdk_snap.zip listed: ${JSON.stringify(list)}`);
      assert.ok(item.size > 0);
      assert.match(item.modified, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);

      // Download with a superuser file token, as the dashboard does.
      const token = await pb.files.getToken();
      const res = await fetch(pb.backups.getDownloadURL(token, 'sdk_snap.zip'));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/zip');
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.deepEqual([...bytes.slice(0, 4)], [0x50, 0x4b, 0x03, 0x04], 'a zip archive');
      assert.equal(item.size, bytes.length);
      const noToken = await fetch(pb.backups.getDownloadURL('', 'sdk_snap.zip'));
      assert.equal(noToken.status, 403);
      await noToken.arrayBuffer();

      // The downloaded archive uploads back under its file name.
      await pb.backups.upload({ file: new File([bytes], 'sdk_upload.zip', { type: 'application/zip' }) });
      const keys = (await pb.backups.getFullList()).map((b) => b.key);
      assert.ok(keys.includes('sdk_upload.zip'), `uploaded: ${keys}`);
      await pb.backups.delete('sdk_upload.zip');
      await rejectsWith(pb.backups.delete('../../data.db'), 400);
      await rejectsWith(pb.backups.create('Not Valid.zip'), 400);

      const b = await pb.collection('notes').create({ title: 'B' });
      await pb.backups.restore('sdk_snap.zip');

      // The server stops, swaps the data and starts again on the same port.
      const deadline = Date.now() + 45_000;
      let restored = false;
      let last = null;
      while (Date.now() < deadline) {
        await sleep(200);
        try {
          await pb.collection('notes').getOne(b.id);
        } catch (err) {
          last = err;
          if (err instanceof ClientResponseError && err.status === 404) {
            restored = true;
            break;
          }
        }
      }
      assert.ok(restored, `record B still there or server down (last: ${last?.status} ${last?.message})\n${server.output}`);
      const again = await pb.collection('notes').getOne(a.id);
      assert.equal(again.title, 'A');
      assert.ok((await pb.backups.getFullList()).some((x) => x.key === 'sdk_snap.zip'), 'the backup survives its restore');
      assert.equal(server.exitResult, undefined, 'the server process is still the same, re-executed');
    });
  });
}
