// Superusers, tokens, health and logs through the official pocketbase SDK,
// against a real hatchgrid server on each dialect.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { ClientResponseError, getTokenPayload } from 'pocketbase';

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

/** Asserts a CLI result exited with code 0. */
function assertOK(res, what) {
  assert.equal(res.code, 0, `${what}: exit code ${res.code}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`);
}

/**
 * Sleeps into the next wall-clock second: token expiry has one-second
 * resolution, so two tokens issued within one second can be identical.
 */
async function nextSecond() {
  await sleep(1000 - (Date.now() % 1000) + 25);
}

for (const dialect of await dialects()) {
  describe(`superusers via the pocketbase SDK [${dialect.name}]`, { skip: dialect.skip }, () => {
    let server;

    before(async () => {
      server = await startServer({ dialect: dialect.name });
    });

    // stop() fails the suite unless the server exits with code 0 on SIGTERM.
    after(async () => {
      await server?.stop();
    });

    /** upsert email password through the CLI, asserting success. */
    async function upsert(email, password) {
      assertOK(await server.cli('superuser', 'upsert', email, password), `superuser upsert ${email}`);
    }

    it('health.check() answers 200 "API is healthy."', async () => {
      const pb = server.client();
      const res = await pb.health.check();
      assert.equal(res.code, 200);
      assert.equal(res.message, 'API is healthy.');
      assert.deepEqual(res.data, {}, 'guests get no health details');
    });

    it('a superuser created with `superuser upsert` signs in with authWithPassword', async () => {
      const upserted = await server.cli('superuser', 'upsert', 'a@b.co', 'Secret12345');
      assertOK(upserted, 'superuser upsert');

      const pb = server.client();
      const auth = await pb.collection('_superusers').authWithPassword('a@b.co', 'Secret12345');

      assert.equal(typeof auth.token, 'string');
      assert.equal(pb.authStore.token, auth.token);
      assert.equal(pb.authStore.isValid, true);
      assert.equal(pb.authStore.isSuperuser, true);

      const payload = getTokenPayload(auth.token);
      assert.equal(payload.type, 'auth');
      assert.equal(payload.id, auth.record.id);
      assert.ok(payload.exp * 1000 > Date.now(), 'token expires in the future');

      const { record } = auth;
      assert.equal(record.email, 'a@b.co');
      assert.equal(record.collectionName, '_superusers');
      assert.equal(typeof record.collectionId, 'string');
      assert.ok(record.collectionId.length > 0);
      assert.equal(typeof record.id, 'string');
      assert.ok(record.id.length > 0);
      for (const secret of ['password', 'tokenKey']) {
        assert.equal(Object.hasOwn(record, secret), false, `record must not have "${secret}": ${JSON.stringify(record)}`);
      }
      assert.deepEqual(pb.authStore.record, record);
    });

    it('upsert on an existing email changes the password; create with that email fails', async () => {
      await upsert('a@b.co', 'Secret12345');
      const pb = server.client();
      const original = await pb.collection('_superusers').authWithPassword('a@b.co', 'Secret12345');

      const again = await server.cli('superuser', 'upsert', 'a@b.co', 'Changed67890');
      assertOK(again, 'second superuser upsert');

      const old = await rejectsWith(
        server.client().collection('_superusers').authWithPassword('a@b.co', 'Secret12345'),
        400,
      );
      assert.equal(old.response.message, 'Failed to authenticate.');

      const changed = await server.client().collection('_superusers').authWithPassword('a@b.co', 'Changed67890');
      assert.equal(changed.record.id, original.record.id, 'upsert updated the same superuser');
      assert.equal(changed.record.email, 'a@b.co');

      const created = await server.cli('superuser', 'create', 'a@b.co', 'Another12345');
      assert.notEqual(created.code, 0, `superuser create with an existing email must fail\nstdout: ${created.stdout}`);
      assert.match(created.stdout + created.stderr, /unique/i, 'the failure names the duplicate');

      // The failed create changed nothing.
      await server.client().collection('_superusers').authWithPassword('a@b.co', 'Changed67890');
      await rejectsWith(server.client().collection('_superusers').authWithPassword('a@b.co', 'Another12345'), 400);
    });

    it('a wrong password or unknown email is a 400 "Failed to authenticate."', async () => {
      await upsert('wrong@b.co', 'Secret12345');
      const pb = server.client();

      for (const [identity, password] of [
        ['wrong@b.co', 'not-the-password'],
        ['nobody@b.co', 'Secret12345'],
      ]) {
        const err = await rejectsWith(pb.collection('_superusers').authWithPassword(identity, password), 400);
        assert.equal(err.response.message, 'Failed to authenticate.');
        assert.equal(err.response.status, 400);
        assert.deepEqual(err.response.data, {});
        assert.equal(pb.authStore.isValid, false, 'a failed sign-in stores nothing');
      }
    });

    it('authRefresh() returns a new valid token', async () => {
      await upsert('refresh@b.co', 'Secret12345');
      const pb = server.client();
      const first = await pb.collection('_superusers').authWithPassword('refresh@b.co', 'Secret12345');

      await nextSecond();
      const refreshed = await pb.collection('_superusers').authRefresh();

      assert.notEqual(refreshed.token, first.token, 'a refresh in a later second issues a new token');
      assert.ok(getTokenPayload(refreshed.token).exp > getTokenPayload(first.token).exp, 'the new token lives longer');
      assert.equal(pb.authStore.token, refreshed.token);
      assert.equal(pb.authStore.isValid, true);
      assert.equal(pb.authStore.isSuperuser, true);
      assert.equal(refreshed.record.id, first.record.id);
      assert.equal(refreshed.record.email, 'refresh@b.co');
      assert.equal(refreshed.record.collectionName, '_superusers');
      assert.equal(Object.hasOwn(refreshed.record, 'password'), false);
      assert.equal(Object.hasOwn(refreshed.record, 'tokenKey'), false);

      // The new token works on a superuser-only route.
      const logs = await pb.send('/api/logs', {});
      assert.ok(Array.isArray(logs.items));
    });

    it('changing the password with upsert revokes existing tokens', async () => {
      await upsert('revoke@b.co', 'Secret12345');
      const pb = server.client();
      await pb.collection('_superusers').authWithPassword('revoke@b.co', 'Secret12345');
      assert.ok((await pb.send('/api/logs', {})).items, 'the token works before the change');

      await upsert('revoke@b.co', 'Changed67890');

      const refresh = await rejectsWith(pb.collection('_superusers').authRefresh(), 401);
      assert.equal(refresh.response.message, 'The request requires valid record authorization token.');
      await rejectsWith(pb.send('/api/logs', {}), 401);

      // On a public route the revoked token is a guest's.
      const health = await pb.health.check();
      assert.equal(health.code, 200);
      assert.deepEqual(health.data, {});

      // A new sign-in with the new password works again.
      const fresh = server.client();
      await fresh.collection('_superusers').authWithPassword('revoke@b.co', 'Changed67890');
      await fresh.collection('_superusers').authRefresh();
      assert.equal(fresh.authStore.isValid, true);
    });

    it('/api/logs lists for superusers and answers 401 to guests', async () => {
      await upsert('logs@b.co', 'Secret12345');
      const pb = server.client();
      await pb.collection('_superusers').authWithPassword('logs@b.co', 'Secret12345');

      const list = await pb.send('/api/logs', {});
      assert.deepEqual(Object.keys(list).sort(), ['items', 'page', 'perPage', 'totalItems', 'totalPages']);
      assert.equal(list.page, 1);
      assert.equal(list.perPage, 30);
      assert.ok(Number.isInteger(list.totalItems) && list.totalItems >= 0, `totalItems ${list.totalItems}`);
      assert.ok(Number.isInteger(list.totalPages) && list.totalPages >= 0, `totalPages ${list.totalPages}`);
      assert.ok(Array.isArray(list.items));
      assert.ok(list.items.length <= list.perPage);

      // The SDK's own logs service hits the same route with paging.
      const page = await pb.logs.getList(1, 5);
      assert.equal(page.page, 1);
      assert.equal(page.perPage, 5);
      assert.ok(Array.isArray(page.items));

      const guest = server.client();
      const err = await rejectsWith(guest.send('/api/logs', {}), 401);
      assert.equal(err.response.message, 'The request requires valid record authorization token.');
      await rejectsWith(guest.logs.getList(1, 5), 401);
    });

    it('an invalid Authorization token on /api/health is treated as a guest', async () => {
      await upsert('health@b.co', 'Secret12345');
      const pb = server.client();
      const { token } = await pb.collection('_superusers').authWithPassword('health@b.co', 'Secret12345');

      // With the valid token the superuser gets health details...
      const asSuperuser = await pb.health.check();
      assert.equal(asSuperuser.code, 200);
      assert.notDeepEqual(asSuperuser.data, {}, 'superusers get health details');

      // ...with a broken one the request is a guest's, not a 401.
      const [head, body, sig] = token.split('.');
      const tampered = `${head}.${body}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      for (const bad of ['not-a-token', 'a.b.c', tampered]) {
        const guest = server.client();
        guest.authStore.save(bad, null);
        const res = await guest.health.check();
        assert.equal(res.code, 200, `token ${bad}`);
        assert.equal(res.message, 'API is healthy.');
        assert.deepEqual(res.data, {}, `token ${bad} must be treated as a guest`);
        // The same token on a route that needs auth is a 401.
        await rejectsWith(guest.send('/api/logs', {}), 401);
      }
    });
  });
}
