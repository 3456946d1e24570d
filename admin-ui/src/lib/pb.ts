// The dashboard talks to the server only through the official pocketbase
// SDK (and its send() for Hatchgrid's own /api/hg routes), so every screen
// is also a compatibility test.
import PocketBase, { ClientResponseError, LocalAuthStore } from "pocketbase";

export const pb = new PocketBase(window.location.origin, new LocalAuthStore("hg_dashboard_auth"));
pb.autoCancellation(false);

export type FieldErrors = Record<string, string>;

/** The user-facing message of an API error. */
export function errorMessage(err: unknown): string {
  if (err instanceof ClientResponseError) {
    if (err.isAbort) return "The request was cancelled.";
    if (err.status === 0) return "The server could not be reached.";
    return err.response?.message || err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * The per-field validation errors of an API error, flattened to dotted
 * paths ("fields.2.name") with their messages.
 */
export function fieldErrors(err: unknown): FieldErrors {
  const out: FieldErrors = {};
  if (!(err instanceof ClientResponseError)) return out;
  const walk = (v: unknown, prefix: string) => {
    if (!v || typeof v !== "object") return;
    const o = v as Record<string, unknown>;
    if (typeof o.message === "string" && typeof o.code === "string") {
      out[prefix] = o.message;
      return;
    }
    for (const [k, child] of Object.entries(o)) walk(child, prefix ? `${prefix}.${k}` : k);
  };
  walk(err.response?.data, "");
  return out;
}

export function isAuthCollection(name: string | undefined): boolean {
  return name === "_superusers" || name === "_staff";
}

/** Seconds until the stored token expires (negative once it has). */
export function tokenSecondsLeft(token: string): number {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part));
    return (claims.exp ?? 0) - Date.now() / 1000;
  } catch {
    return -1;
  }
}

export { ClientResponseError };
