// `npm test`: builds the hatchgrid binary once (with the committed
// dashboard embedded), then runs every *.test.mjs here with Node's test
// runner, one file at a time. Screenshots go to artifacts/ (or
// HG_UI_ARTIFACTS).

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildBinary } from '../sdk/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const files = (await readdir(here)).filter((f) => f.endsWith('.test.mjs')).sort();
if (files.length === 0) {
  console.error('no *.test.mjs files in', here);
  process.exit(1);
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'hatchgrid-ui-bin-'));
let code = 1;
try {
  let bin = process.env.HG_SDK_BINARY;
  if (!bin) {
    bin = await buildBinary(path.join(dir, 'hatchgrid'));
  }
  const child = spawn(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-timeout=180000', '--test-reporter=spec', ...process.argv.slice(2), ...files],
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
