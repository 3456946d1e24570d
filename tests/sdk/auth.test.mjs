// Auth flows of a user auth collection through the official pocketbase SDK,
// against a real hatchgrid server on each dialect: email verification, OTP,
// MFA, password change and reset, email change, and what responses must
// never reveal. Mail goes over real SMTP to a capturing server run inside
// this process (smtp-server), and is parsed with mailparser.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { simpleParser } from 'mailparser';
import { ClientResponseError, getTokenPayload } from 'pocketbase';
import { SMTPServer } from 'smtp-server';

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

const MAIL_TIMEOUT_MS = 5_000;
// How long to wait for a message that must not come.
const NO_MAIL_WAIT_MS = 300;

// ---------------------------------------------------------------------------
// A capturing SMTP server on 127.0.0.1: no TLS, any (or no) AUTH accepted.

class Mailbox {
  constructor() {
    /** @type {Array<{rcptTo: string[], mailFrom: string, from: any, to: any, subject: string, html: string, text: string}>} */
    this.messages = [];
    this.server = new SMTPServer({
      // The server is told tls: false; without STARTTLS it cannot upgrade.
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, session, callback) => callback(null, { user: auth.username || 'anyone' }),
      onData: (stream, session, callback) => {
        simpleParser(stream).then(
          (parsed) => {
            this.messages.push({
              rcptTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              mailFrom: session.envelope.mailFrom?.address || '',
              from: parsed.from?.value?.[0] ?? null,
              to: (parsed.to?.value ?? []).map((a) => a.address.toLowerCase()),
              subject: parsed.subject || '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              text: parsed.text || '',
            });
            callback();
          },
          (err) => callback(err),
        );
      },
    });
    this.server.on('error', () => {});
  }

  /** Listens on a free 127.0.0.1 port and returns it. */
  listen() {
    return new Promise((resolve, reject) => {
      this.server.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve(this.server.server.address().port));
    });
  }

  close() {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The messages delivered to `address` (envelope recipient). */
  to(address) {
    return this.messages.filter((m) => m.rcptTo.includes(address.toLowerCase()));
  }

  /**
   * Runs `action`, then waits for the first message to `address` that
   * arrived after it started, and returns it.
   */
  async expect(address, action) {
    const seen = this.messages.length;
    const result = await action();
    const deadline = Date.now() + MAIL_TIMEOUT_MS;
    for (;;) {
      const msg = this.messages.slice(seen).find((m) => m.rcptTo.includes(address.toLowerCase()));
      if (msg) return { msg, result };
      if (Date.now() > deadline) {
        const got = this.messages.slice(seen).map((m) => `${m.rcptTo.join(',')}: ${m.subject}`);
        assert.fail(`no mail to ${address} within ${MAIL_TIMEOUT_MS} ms (got: ${JSON.stringify(got)})`);
      }
      await sleep(20);
    }
  }

  /** Runs `action`, then checks that no message arrives for a while. */
  async expectNone(action) {
    const seen = this.messages.length;
    const result = await action();
    await sleep(NO_MAIL_WAIT_MS);
    const got = this.messages.slice(seen).map((m) => `${m.rcptTo.join(',')}: ${m.subject}`);
    assert.deepEqual(got, [], 'no mail is sent');
    return result;
  }
}

/** The JWT in a mail's `/_/#/auth/<route>/<TOKEN>` link. */
function linkToken(msg, route) {
  const re = new RegExp(`/_/#/auth/${route}/([A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+)`);
  const m = msg.html.match(re) || msg.text.match(re);
  assert.ok(m, `no /_/#/auth/${route}/<token> link in mail "${msg.subject}":\n${msg.html || msg.text}`);
  return m[1];
}

/** The 8-digit one-time code in an OTP mail. */
function otpCode(msg) {
  const m = msg.html.match(/(?<![0-9])([0-9]{8})(?![0-9])/) || msg.text.match(/(?<![0-9])([0-9]{8})(?![0-9])/);
  assert.ok(m, `no 8-digit code in mail "${msg.subject}":\n${msg.html || msg.text}`);
  return m[1];
}

// ---------------------------------------------------------------------------
// Every response body the suite's SDK clients see, raw.

/** Wraps pb.beforeSend so that every response's raw body lands in `sink`. */
function capture(pb, sink) {
  const previous = pb.beforeSend;
  pb.beforeSend = async (url, options) => {
    const res = previous ? await previous(url, options) : { url, options };
    const opts = res.options || options;
    const inner = opts.fetch || fetch;
    opts.fetch = async (input, init) => {
      const response = await inner(input, init);
      const body = await response.clone().text();
      sink.push({ method: init?.method || 'GET', url: String(input), status: response.status, body });
      return response;
    };
    return { url: res.url || url, options: opts };
  };
  return pb;
}

// ---------------------------------------------------------------------------

const PASSWORD_1 = 'First-Passw0rd';
const PASSWORD_2 = 'Second-Passw0rd';
const PASSWORD_3 = 'Third-Passw0rd';
const EMAIL = 'alice@example.com';
const NEW_EMAIL = 'alice.new@example.com';
const NOBODY = 'nobody@example.com';
// An OAuth2 client secret that no response may ever carry.
const CLIENT_SECRET = 'sdk-oauth2-client-secret-4f9a';

for (const dialect of await dialects()) {
  describe(`auth flows via the pocketbase SDK [${dialect.name}]`, { skip: dialect.skip }, () => {
    let server;
    let mailbox;
    let admin;
    /** Raw responses seen by every client of this suite. */
    const bodies = [];
    /** A fresh SDK client whose responses are captured. */
    const client = () => capture(server.client(), bodies);
    let userId;

    before(async () => {
      mailbox = new Mailbox();
      const smtpPort = await mailbox.listen();
      server = await startServer({ dialect: dialect.name });
      const res = await server.cli('superuser', 'upsert', 'admin@example.com', 'Secret12345');
      assert.equal(res.code, 0, `superuser upsert: ${res.stdout}${res.stderr}`);
      admin = client();
      await admin.collection('_superusers').authWithPassword('admin@example.com', 'Secret12345');

      const settings = await admin.settings.update({
        smtp: {
          enabled: true, host: '127.0.0.1', port: smtpPort, tls: false,
          authMethod: 'PLAIN', username: '', password: '',
        },
        meta: { senderAddress: 'no-reply@example.com', senderName: 'Test' },
      });
      assert.equal(settings.smtp.enabled, true);
      assert.equal(settings.smtp.port, smtpPort);
      assert.equal(settings.meta.senderAddress, 'no-reply@example.com');
    });

    after(async () => {
      try {
        await server?.stop();
      } finally {
        await mailbox?.close();
      }
    });

    it('creates the users auth collection with OTP enabled', async () => {
      const users = await admin.collections.create({
        name: 'users', type: 'auth', createRule: '',
        viewRule: 'id = @request.auth.id', updateRule: 'id = @request.auth.id', listRule: 'id = @request.auth.id',
        otp: { enabled: true }, fields: [{ name: 'name', type: 'text' }],
      });
      assert.equal(users.type, 'auth');
      assert.equal(users.otp.enabled, true);

      // A provider with a client secret, for the final scan of responses.
      const withOAuth2 = await admin.collections.update('users', {
        oauth2: { enabled: true, providers: [{ name: 'google', clientId: 'sdk-client-id', clientSecret: CLIENT_SECRET }] },
      });
      assert.deepEqual(withOAuth2.oauth2.providers.map((p) => [p.name, p.clientId]), [['google', 'sdk-client-id']]);
      assert.equal((await admin.collections.getOne('users')).oauth2.providers[0].clientSecret ?? '', '');

      const methods = await client().collection('users').listAuthMethods();
      assert.equal(methods.password.enabled, true);
      assert.equal(methods.otp.enabled, true);
      assert.equal(methods.mfa.enabled, false);
      assert.deepEqual(methods.oauth2.providers.map((p) => p.name), ['google']);
    });

    it('signs up, verifies the email from the mailed link and refreshes', async () => {
      const guest = client();
      const created = await guest.collection('users').create({
        email: EMAIL, password: PASSWORD_1, passwordConfirm: PASSWORD_1, name: 'Alice',
      });
      userId = created.id;
      assert.equal(created.name, 'Alice');
      assert.equal(created.verified, false);

      const { msg, result } = await mailbox.expect(EMAIL, () => guest.collection('users').requestVerification(EMAIL));
      assert.equal(result, true, 'requestVerification resolves true');
      assert.equal(msg.from?.address, 'no-reply@example.com');
      assert.equal(msg.from?.name, 'Test');
      assert.deepEqual(msg.to, [EMAIL]);
      const token = linkToken(msg, 'confirm-verification');
      const payload = getTokenPayload(token);
      assert.equal(payload.id, userId);
      assert.equal(payload.type, 'verification');

      assert.equal(await guest.collection('users').confirmVerification(token), true);

      const pb = client();
      const auth = await pb.collection('users').authWithPassword(EMAIL, PASSWORD_1);
      assert.equal(auth.record.id, userId);
      assert.equal(auth.record.verified, true, 'verified after confirmVerification');
      assert.equal(auth.record.email, EMAIL);

      const refreshed = await pb.collection('users').authRefresh();
      assert.equal(typeof refreshed.token, 'string');
      assert.equal(refreshed.record.id, userId);
      assert.equal(pb.authStore.token, refreshed.token);
      assert.equal(pb.authStore.isValid, true);
      const claims = getTokenPayload(refreshed.token);
      assert.equal(claims.id, userId);
      assert.equal(claims.type, 'auth');
      assert.ok(claims.exp * 1000 > Date.now(), 'the refreshed token expires in the future');
      // The refreshed token is accepted.
      assert.equal((await pb.collection('users').getOne(userId)).id, userId);
    });

    it('requestVerification for an unknown email resolves and sends nothing', async () => {
      const guest = client();
      const result = await mailbox.expectNone(() => guest.collection('users').requestVerification(NOBODY));
      assert.equal(result, true);
      assert.deepEqual(mailbox.to(NOBODY), []);
    });

    it('signs in with a mailed OTP, which works only once', async () => {
      const pb = client();
      const { msg, result } = await mailbox.expect(EMAIL, () => pb.collection('users').requestOTP(EMAIL));
      assert.equal(typeof result.otpId, 'string');
      assert.ok(result.otpId.length > 0, 'otpId is set');
      const code = otpCode(msg);

      const auth = await pb.collection('users').authWithOTP(result.otpId, code);
      assert.equal(auth.record.id, userId);
      assert.equal(pb.authStore.token, auth.token);
      assert.equal(getTokenPayload(auth.token).id, userId);

      await rejectsWith(client().collection('users').authWithOTP(result.otpId, code), 400);
    });

    // The fully signed-in client of the MFA case, for the password change.
    let owner;

    it('with MFA on, a password alone answers 401 with an mfaId that an OTP completes', async () => {
      const users = await admin.collections.update('users', { mfa: { enabled: true, duration: 600 } });
      assert.equal(users.mfa.enabled, true);
      assert.equal(users.mfa.duration, 600);

      const pb = client();
      const err = await rejectsWith(pb.collection('users').authWithPassword(EMAIL, PASSWORD_1), 401);
      const { mfaId } = err.response;
      assert.equal(typeof mfaId, 'string', `response: ${JSON.stringify(err.response)}`);
      assert.ok(mfaId.length > 0);
      assert.equal(pb.authStore.isValid, false, 'no token after the first factor');

      const { msg, result } = await mailbox.expect(EMAIL, () => pb.collection('users').requestOTP(EMAIL));
      const auth = await pb.collection('users').authWithOTP(result.otpId, otpCode(msg), { mfaId });
      assert.equal(auth.record.id, userId);
      assert.equal(pb.authStore.isValid, true);
      owner = pb;
    });

    it('a password change needs oldPassword and revokes the earlier token', async () => {
      assert.ok(owner, 'the MFA case signed in');
      // The same token, held by another client.
      const stale = client();
      stale.authStore.save(owner.authStore.token, owner.authStore.record);

      const missing = await rejectsWith(owner.collection('users').update(userId, {
        password: PASSWORD_2, passwordConfirm: PASSWORD_2,
      }), 400);
      assert.ok(missing.response.data?.oldPassword, `data.oldPassword: ${JSON.stringify(missing.response)}`);

      const updated = await owner.collection('users').update(userId, {
        oldPassword: PASSWORD_1, password: PASSWORD_2, passwordConfirm: PASSWORD_2,
      });
      assert.equal(updated.id, userId);

      await rejectsWith(stale.collection('users').authRefresh(), 401);

      // MFA off again; the new password signs in on its own.
      const users = await admin.collections.update('users', { mfa: { enabled: false } });
      assert.equal(users.mfa.enabled, false);
      const auth = await client().collection('users').authWithPassword(EMAIL, PASSWORD_2);
      assert.equal(auth.record.id, userId);
    });

    it('resets the password with the mailed token', async () => {
      const guest = client();
      const { msg, result } = await mailbox.expect(EMAIL, () => guest.collection('users').requestPasswordReset(EMAIL));
      assert.equal(result, true);
      const token = linkToken(msg, 'confirm-password-reset');
      assert.equal(getTokenPayload(token).type, 'passwordReset');

      assert.equal(await guest.collection('users').confirmPasswordReset(token, PASSWORD_3, PASSWORD_3), true);

      const auth = await client().collection('users').authWithPassword(EMAIL, PASSWORD_3);
      assert.equal(auth.record.id, userId);
      await rejectsWith(client().collection('users').authWithPassword(EMAIL, PASSWORD_2), 400);
      // The new password rotated the token key: the reset token is spent.
      await rejectsWith(guest.collection('users').confirmPasswordReset(token, PASSWORD_1, PASSWORD_1), 400);
    });

    it('requestPasswordReset for an unknown email resolves and sends nothing', async () => {
      const result = await mailbox.expectNone(() => client().collection('users').requestPasswordReset(NOBODY));
      assert.equal(result, true);
      assert.deepEqual(mailbox.to(NOBODY), []);
    });

    it('changes the email with the token mailed to the new address', async () => {
      const pb = client();
      await pb.collection('users').authWithPassword(EMAIL, PASSWORD_3);
      const { msg, result } = await mailbox.expect(NEW_EMAIL, () => pb.collection('users').requestEmailChange(NEW_EMAIL));
      assert.equal(result, true);
      assert.deepEqual(msg.to, [NEW_EMAIL], 'the mail is addressed to the new email');
      const token = linkToken(msg, 'confirm-email-change');
      const payload = getTokenPayload(token);
      assert.equal(payload.type, 'emailChange');
      assert.equal(payload.newEmail, NEW_EMAIL);

      assert.equal(await client().collection('users').confirmEmailChange(token, PASSWORD_3), true);

      const auth = await client().collection('users').authWithPassword(NEW_EMAIL, PASSWORD_3);
      assert.equal(auth.record.id, userId);
      assert.equal(auth.record.email, NEW_EMAIL);
      await rejectsWith(client().collection('users').authWithPassword(EMAIL, PASSWORD_3), 400);
    });

    it('20 wrong passwords in a row for one identity end in 429', async () => {
      const pb = client();
      const statuses = [];
      for (let i = 0; i < 20; i++) {
        const err = await pb.collection('users').authWithPassword(NEW_EMAIL, `wrong-password-${i}`).then(
          (v) => assert.fail(`wrong password ${i} signed in: ${JSON.stringify(v)}`),
          (e) => e,
        );
        assert.ok(err instanceof ClientResponseError, `attempt ${i}: ${err?.stack || err}`);
        statuses.push(err.status);
      }
      assert.ok(statuses.includes(429), `statuses: ${statuses.join(',')}`);
      assert.ok(statuses.every((s) => s === 400 || s === 429), `statuses: ${statuses.join(',')}`);
      assert.equal(statuses[0], 400, 'the first wrong password is a plain 400');
    });

    it('no response carried a password hash, a tokenKey or a clientSecret', () => {
      assert.ok(bodies.length >= 30, `captured only ${bodies.length} responses`);
      assert.ok(bodies.some((b) => /auth-with-password$/.test(new URL(b.url).pathname) && b.status === 200),
        'auth responses were captured');
      for (const { method, url, status, body } of bodies) {
        const where = `${method} ${url} (${status}): ${body.slice(0, 500)}`;
        assert.doesNotMatch(body, /\$2[aby]\$/, `bcrypt hash in ${where}`);
        assert.doesNotMatch(body, /"clientSecret"\s*:\s*"[^"]/, `clientSecret value in ${where}`);
        assert.ok(!body.includes(CLIENT_SECRET), `the OAuth2 client secret in ${where}`);
        // Collection schemas name the hidden tokenKey field; nothing may
        // carry it as a key, and record and auth responses not at all.
        assert.doesNotMatch(body, /"tokenKey"\s*:/, `tokenKey key in ${where}`);
        const schema = /^\/api\/collections(\/[^/]+)?$/.test(new URL(url).pathname);
        if (!schema) assert.ok(!body.includes('tokenKey'), `"tokenKey" in ${where}`);
      }
    });
  });
}
