// Reading and formatting stored logs (core.Log: id, created, level, message,
// data = core.RequestLog for request logs). Everything tolerates missing or
// mistyped fields.

import type { LogModel } from "pocketbase";

export type LogData = Record<string, unknown>;

/** The filter that hides the dashboard's own (superuser) requests. */
export const NO_SUPERUSERS = 'data.auth != "_superusers"';

/** An error bucket of the chart: requests answered with a 4xx or 5xx. */
export const ERRORS_FILTER = "data.status >= 400";

/** ANDs the non-empty filters, each in parentheses. */
export function allOf(...parts: string[]): string {
  const p = parts.map((s) => s.trim()).filter(Boolean);
  return p.length === 1 ? p[0] : p.map((s) => `(${s})`).join(" && ");
}

export function dataOf(log: LogModel | null | undefined): LogData {
  const d = log?.data as unknown;
  return d && typeof d === "object" && !Array.isArray(d) ? (d as LogData) : {};
}

export function str(v: unknown): string {
  return typeof v === "string" ? v : v == null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
}

export function numOrNull(v: unknown): number | null {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** slog levels: -4 debug, 0 info, 4 warn, 8 error. */
export function levelInfo(level: unknown): { name: string; kind: "" | "warn" | "bad" } {
  const n = numOrNull(level);
  if (n === null) return { name: str(level) || "?", kind: "" };
  if (n >= 8) return { name: "ERROR", kind: "bad" };
  if (n >= 4) return { name: "WARN", kind: "warn" };
  if (n >= 0) return { name: "INFO", kind: "" };
  return { name: "DEBUG", kind: "" };
}

export function statusKind(status: number | null): "" | "ok" | "warn" | "bad" {
  if (status === null) return "";
  if (status >= 500) return "bad";
  if (status >= 400) return "warn";
  return "ok";
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return "";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A Date from the API's "YYYY-MM-DD HH:MM:SS.mmmZ" (or ISO), null if bad. */
export function parseLogTime(v: unknown): Date | null {
  if (typeof v !== "string" || !v) return null;
  const d = new Date(v.includes("T") ? v : v.replace(" ", "T"));
  return Number.isNaN(d.getTime()) ? null : d;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Local "YYYY-MM-DD HH:MM:SS.mmm". */
export function formatLocal(d: Date, ms = true): string {
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return ms ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

export function prettyJSON(v: unknown): string {
  try {
    return JSON.stringify(v, null, 2) ?? "null";
  } catch {
    return String(v);
  }
}
