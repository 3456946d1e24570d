// Test harness for the SDK suite: builds the hatchgrid binary, runs real
// servers (and CLI commands) on SQLite or on a throwaway PostgreSQL schema,
// and tears them down again.
//
//   const server = await startServer({ dialect: 'postgres' });
//   await server.cli('superuser', 'upsert', 'a@b.co', 'Secret12345');
//   const pb = server.client();            // an official PocketBase SDK client
//   await server.stop();                    // SIGTERM; fails unless exit code 0
//
// Environment:
//   HG_SDK_BINARY         use this hatchgrid binary instead of building one
//                         (run.mjs builds once per run and sets it)
//   HG_TEST_POSTGRES_URL  PostgreSQL for the postgres cases
//                         (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
//   CI=true               an unreachable PostgreSQL fails instead of skipping
//   HG_SDK_VERBOSE=1      copy server and CLI output to stderr
//   GO                    the go command (default "go")

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import pg from 'pg';
import PocketBase from 'pocketbase';

/** The repository root, two levels above this file. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable';

const VERBOSE = Boolean(process.env.HG_SDK_VERBOSE);
const STARTUP_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;
const CLI_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------
// The binary

/**
 * Builds the Go package `pkg` (./cmd/hatchgrid by default) from the
 * repository root into `out`.
 * @param {string} out
 * @param {string} [pkg]
 */
export async function buildBinary(out, pkg = './cmd/hatchgrid') {
  const go = process.env.GO || 'go';
  await new Promise((resolve, reject) => {
    execFile(
      go,
      ['build', '-o', out, pkg],
      { cwd: REPO_ROOT, env: { ...process.env, CGO_ENABLED: '1' }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`go build ${pkg} failed (${err.message.trim()}):\n${stdout}${stderr}`));
        } else {
          resolve();
        }
      },
    );
  });
  return out;
}

let binaryPromise;

/**
 * The hatchgrid binary to test: HG_SDK_BINARY if set, otherwise one built
 * on first use into a temporary directory removed when the process exits.
 * @returns {Promise<string>}
 */
export function hatchgridBinary() {
  if (process.env.HG_SDK_BINARY) {
    return Promise.resolve(process.env.HG_SDK_BINARY);
  }
  binaryPromise ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hatchgrid-sdk-bin-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return buildBinary(path.join(dir, 'hatchgrid'));
  })();
  return binaryPromise;
}

// ---------------------------------------------------------------------------
// PostgreSQL

/** The PostgreSQL the postgres cases use. */
export function postgresURL() {
  return process.env.HG_TEST_POSTGRES_URL || DEFAULT_POSTGRES_URL;
}

/** `raw` with any password replaced, for messages. */
export function redact(raw) {
  try {
    const u = new URL(raw);
    if (u.password) u.password = 'xxxxx';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Runs `fn(client)` on a short-lived connection to the test PostgreSQL. */
async function withPostgres(fn) {
  const client = new pg.Client({ connectionString: postgresURL(), connectionTimeoutMillis: 5_000 });
  // An error event on an idle client (server restart) must not crash the run.
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

let postgresProbe;

/**
 * Whether the test PostgreSQL answers: { ok: true } or { ok: false, error }.
 * Checked once per process.
 */
export function probePostgres() {
  postgresProbe ??= withPostgres((c) => c.query('SELECT 1')).then(
    () => ({ ok: true }),
    (error) => ({ ok: false, error }),
  );
  return postgresProbe;
}

/** Creates an empty schema with a fresh random name and returns the name. */
async function createSchema() {
  const schema = `hg_sdk_${randomBytes(6).toString('hex')}`;
  await withPostgres((c) => c.query(`CREATE SCHEMA "${schema}"`));
  return schema;
}

async function dropSchema(schema) {
  await withPostgres((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/** The test PostgreSQL URL with search_path set to `schema`. */
function schemaURL(schema) {
  const u = new URL(postgresURL());
  u.searchParams.set('search_path', schema);
  return u.toString();
}

let warnedPostgres = false;

/**
 * The dialects every test runs on, as node:test options: pass `skip` to
 * describe(). PostgreSQL is skipped, with one loud line on stderr, when it
 * is unreachable, unless CI=true: then it stays enabled and its servers fail
 * to start with the connection error.
 * @returns {Promise<Array<{name: 'sqlite'|'postgres', skip: false|string}>>}
 */
export async function dialects() {
  const out = [{ name: 'sqlite', skip: false }];
  const probe = await probePostgres();
  if (probe.ok || process.env.CI === 'true') {
    out.push({ name: 'postgres', skip: false });
  } else {
    const msg = `PostgreSQL at ${redact(postgresURL())} is unreachable (${probe.error.message || probe.error})`;
    if (!warnedPostgres) {
      warnedPostgres = true;
      process.stderr.write(`!!! ${msg} -- SKIPPING PostgreSQL SDK tests (set CI=true to fail instead)\n`);
    }
    out.push({ name: 'postgres', skip: msg });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Servers

/** A free TCP port on 127.0.0.1, found by listening on port 0. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The environment for servers and CLI commands: ours, minus every HG_*
 * variable (so a developer's shell cannot leak configuration in), plus
 * `extra`.
 */
function childEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('HG_')) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Collects a child's output, keeping the last `limit` characters. */
class OutputTail {
  constructor(label, limit = 64 * 1024) {
    this.label = label;
    this.limit = limit;
    this.text = '';
  }

  add(chunk) {
    const s = chunk.toString();
    if (VERBOSE) process.stderr.write(s.replace(/^(?=.)/gm, `[${this.label}] `));
    this.text += s;
    if (this.text.length > this.limit) this.text = this.text.slice(-this.limit);
  }

  toString() {
    return this.text;
  }
}

const liveServers = new Set();

// A test process that dies mid-run must not leave servers behind.
process.once('exit', () => {
  for (const child of liveServers) child.kill('SIGKILL');
});

/**
 * Starts `hatchgrid serve` on a free 127.0.0.1 port with its own data
 * directory (and, for postgres, its own schema) and waits until GET
 * /api/health answers 200. `env` adds HG_* variables to the server's
 * environment.
 *
 * @param {{dialect?: 'sqlite'|'postgres', env?: Record<string, string>}} [options]
 * @returns {Promise<Server>}
 */
export async function startServer({ dialect = 'sqlite', env: serverEnv = {} } = {}) {
  if (dialect !== 'sqlite' && dialect !== 'postgres') {
    throw new Error(`unknown dialect ${dialect}`);
  }
  const bin = await hatchgridBinary();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hatchgrid-sdk-data-'));
  let schema = null;
  const cleanup = async () => {
    await rm(dir, { recursive: true, force: true });
    if (schema) await dropSchema(schema);
  };

  try {
    const extra = { ...serverEnv };
    if (dialect === 'postgres') {
      try {
        schema = await createSchema();
      } catch (err) {
        throw new Error(`PostgreSQL at ${redact(postgresURL())} is unusable: ${err.message}`, { cause: err });
      }
      extra.HG_DATABASE_URL = schemaURL(schema);
    }
    const env = childEnv(extra);

    // The port can be taken between our probe and the server's listen;
    // then the server exits at once and we try another.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const server = new Server({ bin, dir, env, port, dialect, schema, cleanup });
      try {
        await server.waitHealthy();
        return server;
      } catch (err) {
        await server.kill();
        if (attempt < 3 && /address already in use/i.test(server.output)) continue;
        throw err;
      }
    }
  } catch (err) {
    await cleanup().catch(() => {});
    throw err;
  }
}

class Server {
  constructor({ bin, dir, env, port, dialect, schema, cleanup }) {
    this.bin = bin;
    this.dir = dir;
    this.env = env;
    this.dialect = dialect;
    this.schema = schema;
    this.url = `http://127.0.0.1:${port}`;
    this._cleanup = cleanup;
    this._output = new OutputTail(`serve:${dialect}:${port}`);
    this._stopped = false;

    this.child = spawn(bin, ['serve', '--http', `127.0.0.1:${port}`, '--dir', dir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveServers.add(this.child);
    this.child.stdout.on('data', (c) => this._output.add(c));
    this.child.stderr.on('data', (c) => this._output.add(c));
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => resolve({ code: null, signal: null, error }));
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    }).then((result) => {
      liveServers.delete(this.child);
      this.exitResult = result;
      return result;
    });
  }

  /** Everything the server printed so far (the last 64 KiB). */
  get output() {
    return this._output.toString();
  }

  _describe(what) {
    return `${what}\n--- hatchgrid serve output (${this.dialect}, ${this.url}) ---\n${this.output}--- end ---`;
  }

  async waitHealthy() {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (this.exitResult) {
        const r = this.exitResult;
        throw new Error(this._describe(`hatchgrid serve exited during startup (code ${r.code}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''})`));
      }
      try {
        const res = await fetch(`${this.url}/api/health`, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
        last = `status ${res.status}`;
      } catch (err) {
        last = err.cause?.code || err.message;
      }
      await sleep(50);
    }
    throw new Error(this._describe(`hatchgrid serve did not answer GET /api/health with 200 within ${STARTUP_TIMEOUT_MS} ms (last: ${last})`));
  }

  /** A fresh official SDK client for this server, with auto-cancellation off. */
  client() {
    const pb = new PocketBase(this.url);
    pb.autoCancellation(false);
    return pb;
  }

  /**
   * Runs `hatchgrid ...args --dir DIR` with the server's environment (and so
   * its database). Never throws for a non-zero exit: check `code`.
   * @returns {Promise<{code: number|null, signal: string|null, stdout: string, stderr: string}>}
   */
  cli(...args) {
    return runCLI(this.bin, [...args, '--dir', this.dir], this.env);
  }

  /**
   * Stops the server with SIGTERM and removes its data (directory, schema).
   * Throws if it does not exit in time or exits with anything but code 0.
   */
  async stop() {
    if (this._stopped) return;
    this._stopped = true;
    let problem = null;
    try {
      if (this.exitResult) {
        problem = `hatchgrid serve had already exited before stop (code ${this.exitResult.code}, signal ${this.exitResult.signal})`;
      } else {
        this.child.kill('SIGTERM');
        const timer = new AbortController();
        const result = await Promise.race([
          this.exited,
          sleep(STOP_TIMEOUT_MS, null, { signal: timer.signal }).catch(() => null),
        ]);
        timer.abort();
        if (!result) {
          this.child.kill('SIGKILL');
          await this.exited;
          problem = `hatchgrid serve did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`;
        } else if (result.code !== 0) {
          problem = `hatchgrid serve exited with code ${result.code} (signal ${result.signal}) after SIGTERM, want code 0`;
        }
      }
    } finally {
      await this._cleanup();
    }
    if (problem) throw new Error(this._describe(problem));
  }

  /** Kills the server without checks (failed startup). */
  async kill() {
    this._stopped = true;
    if (!this.exitResult) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Runs the binary with args and env, collecting its output. */
function runCLI(bin, args, env) {
  return new Promise((resolve) => {
    execFile(bin, args, { env, timeout: CLI_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (VERBOSE) process.stderr.write(`[cli] hatchgrid ${args.join(' ')}\n${stdout}${stderr}`);
      if (err && typeof err.code !== 'number' && !err.signal) {
        // Could not run at all (ENOENT and the like).
        resolve({ code: null, signal: null, stdout, stderr: `${stderr}${err.message}` });
        return;
      }
      resolve({ code: err ? err.code : 0, signal: err?.signal ?? null, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------
// Clusters

let clusterBinariesPromise;

/**
 * The cluster launcher (tests/cluster) and the instance binary it runs
 * (tests/cluster/testnode: hatchgrid with a cron entry every 2 s that
 * records which instance ran each tick), built once per process.
 */
function clusterBinaries() {
  clusterBinariesPromise ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hatchgrid-sdk-cluster-bin-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const [launcher, node] = await Promise.all([
      buildBinary(path.join(dir, 'cluster'), './tests/cluster'),
      buildBinary(path.join(dir, 'testnode'), './tests/cluster/testnode'),
    ]);
    return { launcher, node };
  })();
  return clusterBinariesPromise;
}

/**
 * Starts `size` instances on PostgreSQL (a schema of their own), Redis (a
 * claimed test database) and an in-memory S3 API through the tests/cluster
 * launcher, with a superuser, and waits until all are healthy.
 *
 *   const cluster = await startCluster();
 *   const [a, b, c] = cluster.clients();  // one SDK client per instance
 *   await cluster.stop();
 *
 * @param {{size?: number}} [options]
 */
export async function startCluster({ size = 3 } = {}) {
  const { launcher, node } = await clusterBinaries();
  const args = ['-bin', node, '-n', String(size), '-port', '0', '-json', '-claim-redis-db',
    '-pg-url', postgresURL(), '-redis-url', process.env.HG_TEST_REDIS_URL || 'redis://127.0.0.1:6379/0'];
  const child = spawn(launcher, args, { env: childEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
  liveServers.add(child);
  const output = new OutputTail(`cluster`);
  child.stderr.on('data', (c) => output.add(c));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    liveServers.delete(child);
    resolve({ code, signal });
  }));
  const info = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`the cluster did not come up within 90 s\n${output}`)), 90_000);
    child.stdout.on('data', (c) => {
      buf += c;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf.slice(0, nl)));
      } catch (err) {
        reject(err);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the cluster launcher exited (code ${code}, signal ${signal})\n${output}`));
    });
  });
  return {
    info,
    urls: info.instances.map((i) => i.url),
    get output() {
      return output.toString();
    },
    /** One SDK client per instance, auto-cancellation off. */
    clients() {
      return info.instances.map((i) => {
        const pb = new PocketBase(i.url);
        pb.autoCancellation(false);
        return pb;
      });
    },
    /** Stops the instances and removes their schema, Redis data and dirs. */
    async stop() {
      child.kill('SIGTERM');
      const r = await Promise.race([exited, sleep(40_000).then(() => null)]);
      if (!r) {
        child.kill('SIGKILL');
        throw new Error(`the cluster did not stop within 40 s\n${output}`);
      }
      if (r.code !== 0) throw new Error(`the cluster launcher exited with code ${r.code}\n${output}`);
    },
  };
}
