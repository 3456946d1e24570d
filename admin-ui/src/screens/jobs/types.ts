// Shapes of the /api/hg/jobs answers (apis/jobs.go, core JobsStatus and
// CronEntry), and small helpers that read them defensively: a field the
// server left out or sent with another type must not break the screen.

export const TASK_STATES = ["pending", "active", "scheduled", "retry", "archived", "completed"] as const;
export type TaskState = (typeof TASK_STATES)[number];

export type JobsStatus = {
  mode: string;
  workers: boolean;
  concurrency: number;
  durability: string;
  lastSnapshot?: string;
};

export type StatusResponse = { status: JobsStatus; outboxLen: number; types: string[] };

export type QueueDay = { date: string; processed: number; failed: number };

export type Queue = {
  name: string;
  size: number;
  pending: number;
  active: number;
  scheduled: number;
  retry: number;
  archived: number;
  completed: number;
  processed: number;
  failed: number;
  paused: boolean;
  history: QueueDay[];
};

export type Task = {
  id: string;
  type: string;
  payload: unknown;
  queue: string;
  state: string;
  retried: number;
  maxRetry: number;
  lastError: string;
  lastFailedAt: string | null;
  nextProcessAt: string | null;
  completedAt: string | null;
};

export type TaskPage = { items: Task[]; page: number; perPage: number; totalItems: number; totalPages: number };

export type CronEntry = { name: string; spec: string; jobType: string; next: string; prev: string };

export const STATE_LABELS: Record<TaskState, string> = {
  pending: "Pending",
  active: "Active",
  scheduled: "Scheduled",
  retry: "Retry",
  archived: "Archived",
  completed: "Completed",
};

export function isTaskState(s: string | null | undefined): s is TaskState {
  return !!s && (TASK_STATES as readonly string[]).includes(s);
}

/** What Asynq lets the dashboard do with a task in each state. */
export function taskActions(state: string) {
  return {
    run: state === "scheduled" || state === "retry" || state === "archived",
    archive: state === "pending" || state === "scheduled" || state === "retry",
    remove: state !== "active" && isTaskState(state),
  };
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const str = (v: unknown) => (typeof v === "string" ? v : v == null ? "" : String(v));
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

function ensureArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`The server sent an unexpected ${what} list.`);
  return v;
}

export function readStatus(v: unknown): StatusResponse {
  const o = obj(v);
  const s = obj(o.status);
  if (!o.status) throw new Error("The server sent an unexpected jobs status.");
  return {
    status: {
      mode: str(s.mode),
      workers: !!s.workers,
      concurrency: num(s.concurrency),
      durability: str(s.durability),
      lastSnapshot: typeof s.lastSnapshot === "string" ? s.lastSnapshot : undefined,
    },
    outboxLen: num(o.outboxLen),
    types: Array.isArray(o.types) ? o.types.map(str) : [],
  };
}

export function readQueues(v: unknown): Queue[] {
  return ensureArray(v, "queue").map((raw) => {
    const q = obj(raw);
    return {
      name: str(q.name),
      size: num(q.size),
      pending: num(q.pending),
      active: num(q.active),
      scheduled: num(q.scheduled),
      retry: num(q.retry),
      archived: num(q.archived),
      completed: num(q.completed),
      processed: num(q.processed),
      failed: num(q.failed),
      paused: !!q.paused,
      history: (Array.isArray(q.history) ? q.history : []).map((d) => {
        const o = obj(d);
        return { date: str(o.date), processed: num(o.processed), failed: num(o.failed) };
      }),
    };
  });
}

function optTime(v: unknown): string | null {
  return typeof v === "string" && v ? v : null;
}

export function readTaskPage(v: unknown): TaskPage {
  const o = obj(v);
  const items = ensureArray(o.items, "task").filter((raw) => raw && typeof raw === "object").map((raw) => {
    const t = obj(raw);
    return {
      id: str(t.id),
      type: str(t.type),
      payload: t.payload ?? null,
      queue: str(t.queue),
      state: str(t.state),
      retried: num(t.retried),
      maxRetry: num(t.maxRetry),
      lastError: str(t.lastError),
      lastFailedAt: optTime(t.lastFailedAt),
      nextProcessAt: optTime(t.nextProcessAt),
      completedAt: optTime(t.completedAt),
    };
  });
  return {
    items,
    page: num(o.page) || 1,
    perPage: num(o.perPage) || items.length,
    totalItems: num(o.totalItems),
    totalPages: num(o.totalPages),
  };
}

export function readCron(v: unknown): CronEntry[] {
  return ensureArray(v, "cron").map((raw) => {
    const c = obj(raw);
    return { name: str(c.name), spec: str(c.spec), jobType: str(c.jobType), next: str(c.next), prev: str(c.prev) };
  });
}

/** A Date for an API time, or null for empty, zero ("0001-01-01...") or bad values. */
export function parseTime(v: string | null | undefined): Date | null {
  if (!v) return null;
  const d = new Date(v.includes("T") ? v : v.replace(" ", "T"));
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1000) return null;
  return d;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Local "YYYY-MM-DD HH:MM:SS". */
export function formatTime(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** "in 3 min", "12 s ago", ... relative to now. */
export function relativeTime(d: Date, now = Date.now()): string {
  const s = Math.round((d.getTime() - now) / 1000);
  const a = Math.abs(s);
  if (a < 60) return rtf.format(s, "second");
  if (a < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (a < 86400) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

export function prettyJSON(v: unknown): string {
  try {
    return JSON.stringify(v, null, 2) ?? "null";
  } catch {
    return String(v);
  }
}
