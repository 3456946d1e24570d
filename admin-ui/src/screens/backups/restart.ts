// Waiting for the server to come back after a restore.

/** "12.3 MB" for a byte count. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls probe (a health check answering the instance's start time) until
 * the restarted server answers: after the 204 the old process still
 * serves for a moment, so an answer counts only once the server was seen
 * down or reports another start time. Resolves false after limitMs.
 */
export async function waitForRestart(
  probe: () => Promise<string | null>,
  before: string | null,
  limitMs = 120_000,
): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  let sawDown = false;
  // A restart fast enough to miss between two polls still changes the
  // start time; without one, give the old process time to stop.
  const graceUntil = Date.now() + 5_000;
  while (Date.now() < deadline) {
    await sleep(500);
    try {
      const started = await probe();
      if (sawDown || (before !== null && started !== null && started !== before)) return true;
      if (before === null && Date.now() > graceUntil) return true;
    } catch {
      sawDown = true;
    }
  }
  return false;
}
