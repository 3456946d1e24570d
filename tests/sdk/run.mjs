// `npm test`: builds the hatchgrid binary once for the whole run, then runs
// every *.test.mjs file in this directory with Node's built-in runner, one
// file at a time, pointing the harness at the binary through HG_SDK_BINARY.
// Extra arguments go to `node --test` (e.g. --test-name-pattern=refresh).
//
// Running `node --test superusers.test.mjs` directly also works: the harness
// then builds the binary itself, once per test file.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildBinary } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const files = (await readdir(here)).filter((f) => f.endsWith('.test.mjs')).sort();
if (files.length === 0) {
  console.error('no *.test.mjs files in', here);
  process.exit(1);
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'hatchgrid-sdk-bin-'));
let code = 1;
try {
  let bin = process.env.HG_SDK_BINARY;
  if (!bin) {
    const started = Date.now();
    bin = await buildBinary(path.join(dir, 'hatchgrid'));
    console.error(`built ${bin} in ${Date.now() - started} ms`);
  }

  const child = spawn(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-timeout=60000', '--test-reporter=spec', ...process.argv.slice(2), ...files],
    { cwd: here, stdio: 'inherit', env: { ...process.env, HG_SDK_BINARY: bin } },
  );
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  code = await new Promise((resolve) => {
    child.once('error', (err) => {
      console.error(err);
      resolve(1);
    });
    child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exit(code);
