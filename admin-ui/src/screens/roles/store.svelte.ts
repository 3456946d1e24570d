// Shared state of the "Roles & access" screen: the roles, the policies,
// the staff accounts and the emails of the auth records they name, loaded
// through the SDK from Hatchgrid's /api/hg routes.
import type { RecordModel } from "pocketbase";
import { pb, errorMessage } from "../../lib/pb";
import { session, can, isSuperuser, type Access } from "../../lib/session.svelte";

export type Member = { subject: string; collectionId: string; collectionName: string; recordId: string };
export type Role = { name: string; inherits: string[]; members: Member[] };
export type Policy = { id: number; subject: string; resource: string; action: string; effect: string };
/** A member to add: an auth record, or guest. */
export type MemberInput = { subject: "guest" } | { collectionId: string; collectionName: string; recordId: string; email?: string };
export type Tab = "roles" | "policies" | "staff" | "check";

export const STAFF = "_staff";
export const ADMIN_RESOURCES = ["admin:schema", "admin:settings", "admin:logs", "admin:jobs", "admin:policies"];
export const COLLECTION_ACTIONS = ["list", "view", "create", "update", "delete"];
const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const data = $state({
  roles: [] as Role[],
  policies: [] as Policy[],
  staff: [] as RecordModel[],
  /** Roles created here that no policy or member names yet (the server forgets those). */
  pending: [] as string[],
  /** "collectionId/recordId" → email of the auth records named by members and policies. */
  emails: {} as Record<string, string>,
  loading: false,
  loaded: false,
  error: "",
  staffLoading: false,
  staffLoaded: false,
  staffError: "",
});

/** Cross-tab requests: open the policy form for a subject, check a subject. */
export const ui = $state({
  tab: "roles" as Tab,
  newPolicyFor: null as string | null,
  checkSubject: null as string | null,
});

export function canWrite(): boolean {
  return can("admin:policies", "write");
}

export function validRoleName(name: string): boolean {
  return ROLE_NAME.test(name);
}

// --- reading defensively: bad data must not break the screen ---

const str = (v: unknown): string => (typeof v === "string" ? v : v == null ? "" : String(v));
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(str).filter(Boolean) : []);

function toMember(v: unknown): Member | null {
  if (!v || typeof v !== "object") return null;
  const o = v as Record<string, unknown>;
  const m = { subject: str(o.subject), collectionId: str(o.collectionId), collectionName: str(o.collectionName), recordId: str(o.recordId) };
  if (!m.subject && m.collectionId && m.recordId) m.subject = `record:${m.collectionId}/${m.recordId}`;
  if (m.subject && !m.recordId) {
    const rec = parseRecordSubject(m.subject);
    if (rec) {
      m.collectionId = rec.collectionId;
      m.recordId = rec.recordId;
    }
  }
  return m.subject ? m : null;
}

function toRole(v: unknown): Role | null {
  if (!v || typeof v !== "object") return null;
  const o = v as Record<string, unknown>;
  const name = str(o.name);
  if (!name) return null;
  const members = Array.isArray(o.members) ? o.members.map(toMember).filter((m): m is Member => !!m) : [];
  return { name, inherits: strs(o.inherits), members };
}

function toPolicy(v: unknown): Policy | null {
  if (!v || typeof v !== "object") return null;
  const o = v as Record<string, unknown>;
  const id = Number(o.id);
  if (!Number.isFinite(id)) return null;
  return { id, subject: str(o.subject), resource: str(o.resource), action: str(o.action), effect: str(o.effect) || "allow" };
}

/** Every item of a paged /api/hg list. */
async function listAll(path: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let page = 1; page <= 100; page++) {
    const res = await pb.send<{ items?: unknown; totalPages?: unknown }>(path, { query: { page, perPage: 1000 } });
    if (!res || !Array.isArray(res.items)) throw new Error("The server sent an unexpected answer for " + path + ".");
    out.push(...res.items);
    const pages = Number(res.totalPages);
    if (!Number.isFinite(pages) || page >= pages || res.items.length === 0) break;
  }
  return out;
}

// --- loading ---

const PENDING_KEY = "hg_dashboard_pending_roles";
try {
  const saved = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? "[]");
  data.pending = strs(saved);
} catch {
  data.pending = [];
}

function savePending() {
  try {
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(data.pending));
  } catch {
    /* private mode: the list lives as long as the page */
  }
}

export function addPending(name: string) {
  if (!data.pending.includes(name) && !data.roles.some((r) => r.name === name)) {
    data.pending.push(name);
    savePending();
  }
}

export function dropPending(name: string) {
  const i = data.pending.indexOf(name);
  if (i >= 0) {
    data.pending.splice(i, 1);
    savePending();
  }
}

/** Reloads roles and policies; returns an error message or "". */
export async function reload(): Promise<string> {
  data.loading = true;
  try {
    const [roles, policies] = await Promise.all([listAll("/api/hg/roles"), listAll("/api/hg/policies")]);
    data.roles = roles.map(toRole).filter((r): r is Role => !!r);
    data.policies = policies.map(toPolicy).filter((p): p is Policy => !!p);
    data.pending = data.pending.filter((n) => !data.roles.some((r) => r.name === n));
    savePending();
    data.error = "";
    data.loaded = true;
    void resolveEmails();
  } catch (err) {
    data.error = errorMessage(err);
  } finally {
    data.loading = false;
  }
  return data.error;
}

/** Reloads the staff accounts (superusers only). */
export async function reloadStaff(): Promise<string> {
  if (!isSuperuser()) {
    data.staff = [];
    data.staffError = "";
    return "";
  }
  data.staffLoading = true;
  try {
    const items = await pb.collection(STAFF).getFullList({ sort: "email", requestKey: null });
    data.staff = Array.isArray(items) ? items.filter((r) => r && typeof r.id === "string") : [];
    for (const r of data.staff) if (r.email) data.emails[`${r.collectionId}/${r.id}`] = str(r.email);
    data.staffError = "";
    data.staffLoaded = true;
  } catch (err) {
    data.staffError = errorMessage(err);
  } finally {
    data.staffLoading = false;
  }
  return data.staffError;
}

/** After a change, refresh the signed-in account's own access: it may have changed it. */
export async function refreshOwnAccess() {
  if (isSuperuser()) return;
  try {
    session.access = await pb.send<Access>("/api/hg/access", {});
  } catch {
    /* keeps the last known access; the API refuses what it must */
  }
}

/** Looks up the emails of the auth records that members and policies name. */
async function resolveEmails() {
  const byCollection = new Map<string, Set<string>>();
  // Only superusers may list the system auth collections: don't ask in vain.
  const superuserOnly = new Set([STAFF, "_superusers"]);
  const want = (collectionId: string, recordId: string, name = "") => {
    if (!collectionId || !recordId || data.emails[`${collectionId}/${recordId}`] !== undefined) return;
    if (!isSuperuser() && superuserOnly.has(name || collectionName(collectionId))) return;
    if (!byCollection.has(collectionId)) byCollection.set(collectionId, new Set());
    byCollection.get(collectionId)!.add(recordId);
  };
  for (const r of data.roles) for (const m of r.members) want(m.collectionId, m.recordId, m.collectionName);
  for (const p of data.policies) {
    const rec = parseRecordSubject(p.subject);
    if (rec) want(rec.collectionId, rec.recordId);
  }
  for (const [collectionId, ids] of byCollection) {
    const all = [...ids];
    for (let i = 0; i < all.length; i += 40) {
      const chunk = all.slice(i, i + 40);
      const filter = chunk.map((id, n) => pb.filter(`id = {:id${n}}`, { [`id${n}`]: id })).join(" || ");
      try {
        const found = await pb.collection(collectionId).getFullList({ filter, fields: "id,email", requestKey: null });
        for (const rec of found) if (rec?.email) data.emails[`${collectionId}/${rec.id}`] = str(rec.email);
      } catch {
        // No access to that collection, or it is gone: show the ids.
      }
      // Remember misses too, so that they are not asked for again.
      for (const id of chunk) data.emails[`${collectionId}/${id}`] ??= "";
    }
  }
}

// --- naming ---

export function parseRecordSubject(subject: string): { collectionId: string; recordId: string } | null {
  if (!subject.startsWith("record:")) return null;
  const rest = subject.slice("record:".length);
  const i = rest.indexOf("/");
  if (i <= 0 || i === rest.length - 1) return null;
  return { collectionId: rest.slice(0, i), recordId: rest.slice(i + 1) };
}

export function collectionName(idOrName: string): string {
  return session.collections.find((c) => c.id === idOrName || c.name === idOrName)?.name ?? idOrName;
}

/** collection/email (or id) of a record member, "guest" for guest. */
export function memberLabel(m: { subject?: string; collectionId?: string; collectionName?: string; recordId?: string }): string {
  if (!m.recordId) return m.subject || "?";
  const col = m.collectionName || collectionName(m.collectionId ?? "");
  const email = data.emails[`${m.collectionId}/${m.recordId}`];
  return `${col}/${email || m.recordId}`;
}

/** A policy subject as people read it: role:editor, guest, *, or collection/email. */
export function subjectLabel(subject: string): string {
  const rec = parseRecordSubject(subject);
  return rec ? memberLabel(rec) : subject;
}

export function memberKey(m: { subject?: string; collectionId?: string; recordId?: string }): string {
  return m.recordId ? `${m.collectionId}/${m.recordId}` : m.subject || "";
}

/** Role names, the ones only created here included, sorted. */
export function roleNames(): string[] {
  return [...new Set([...data.roles.map((r) => r.name), ...data.pending])].sort((a, b) => a.localeCompare(b));
}

/** The roles a record holds directly. */
export function rolesOf(collectionId: string, recordId: string): string[] {
  return data.roles.filter((r) => r.members.some((m) => m.recordId === recordId && (m.collectionId === collectionId || m.collectionName === collectionId))).map((r) => r.name);
}

export function policiesOf(role: string): Policy[] {
  return data.policies.filter((p) => p.subject === "role:" + role);
}

export function authCollections(): { id: string; name: string }[] {
  const auth = session.collections.filter((c) => c.type === "auth").map((c) => ({ id: c.id, name: c.name }));
  // Without admin:schema the collections are unknown: offer the usual ones by name.
  return auth.length ? auth : [STAFF, "users", "_superusers"].map((n) => ({ id: n, name: n }));
}

export function resourceSuggestions(): string[] {
  return [...ADMIN_RESOURCES, "admin:*", "collection:*", ...session.collections.map((c) => "collection:" + c.name), "*"];
}

export function actionSuggestions(resource: string): string[] {
  const r = resource.trim();
  if (r.startsWith("admin:")) return ["read", "write", "*"];
  if (r.startsWith("collection:")) return [...COLLECTION_ACTIONS, "*"];
  return [...COLLECTION_ACTIONS, "read", "write", "*"];
}

export function formatDate(v: unknown): string {
  const s = str(v);
  if (!s) return "";
  const d = new Date(s.replace(" ", "T"));
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
