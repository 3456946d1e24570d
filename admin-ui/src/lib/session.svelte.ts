import type { CollectionModel, RecordModel } from "pocketbase";
import { pb, tokenSecondsLeft } from "./pb";
import { toast } from "./toasts.svelte";

export type AdminResource = "admin:schema" | "admin:settings" | "admin:logs" | "admin:jobs" | "admin:policies";

/** GET /api/hg/access: what the signed-in account may do. */
export type Access = {
  superuser: boolean;
  admin: Record<AdminResource, { read: boolean; write: boolean }>;
  collections: Record<string, string[]>;
};

export const session = $state<{
  record: RecordModel | null;
  access: Access | null;
  collections: CollectionModel[];
  notice: string;
}>({ record: null, access: null, collections: [], notice: "" });

/** Whether the signed-in account may perform action on an admin resource. */
export function can(resource: AdminResource, action: "read" | "write" = "read"): boolean {
  const a = session.access;
  if (!a) return false;
  return a.superuser || !!a.admin[resource]?.[action];
}

export function isSuperuser(): boolean {
  return !!session.access?.superuser;
}

/**
 * Whether the account may read the audit log: superusers and callers
 * allowed "read" on "admin:audit", which GET /api/hg/access reports when
 * the audit plugin is in the binary (it adds the resource).
 */
export function canReadAudit(): boolean {
  const a = session.access;
  if (!a) return false;
  const admin = a.admin as Record<string, { read: boolean; write: boolean } | undefined>;
  return a.superuser || !!admin["admin:audit"]?.read;
}

/**
 * Reloads the collections (when the account may read schemas) and the
 * access summary, which names every collection.
 */
export async function loadCollections() {
  session.access = await pb.send<Access>("/api/hg/access", {});
  if (!can("admin:schema")) {
    session.collections = [];
    return;
  }
  session.collections = await pb.collections.getFullList({ sort: "name" });
}

export function collectionByName(name: string): CollectionModel | undefined {
  return session.collections.find((c) => c.name === name || c.id === name);
}

/** Loads the account's access and collections after sign-in or reload. */
export async function startSession() {
  session.record = pb.authStore.record;
  await loadCollections();
}

export function logout(notice = "") {
  pb.authStore.clear();
  session.record = null;
  session.access = null;
  session.collections = [];
  session.notice = notice;
  if (notice) toast(notice, "info", 6000);
}

// Sessions end when the token does, or when the server stops accepting it
// (a new password, a rotated secret). While the tab is in use the token is
// refreshed, which also asks the server whether it still works: every
// minute, and whenever the tab becomes visible again.
let watch: ReturnType<typeof setInterval> | undefined;
let lastCheck = 0;

async function checkSession() {
  const record = pb.authStore.record;
  if (!pb.authStore.token || !record) return;
  if (tokenSecondsLeft(pb.authStore.token) <= 0) {
    logout("Your session has expired. Please sign in again.");
    return;
  }
  if (document.visibilityState !== "visible" || Date.now() - lastCheck < 5_000) return;
  lastCheck = Date.now();
  try {
    await pb.collection(record.collectionName).authRefresh();
    session.record = pb.authStore.record;
  } catch {
    // A 401 has signed out already (afterSend); other failures (the
    // server restarting) leave the session as it is.
  }
}

export function watchExpiry() {
  clearInterval(watch);
  let ticks = 0;
  watch = setInterval(() => {
    ticks++;
    if (tokenSecondsLeft(pb.authStore.token) <= 300 || ticks % 6 === 0) checkSession();
  }, 10_000);
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") checkSession();
});

// A 401 on any request means the token no longer works (a password change,
// a revoked token key): sign out rather than leave a broken screen.
pb.afterSend = (response, data) => {
  if (response.status === 401 && pb.authStore.token && !response.url.includes("/auth-with-")) {
    logout("Your session has expired. Please sign in again.");
  }
  return data;
};
