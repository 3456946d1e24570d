// The audit plugin's API shapes (GET /api/hg/audit, /api/hg/audit/:id).

export type Change = { before: unknown; after: unknown };

export type AuditEntry = {
  id: string;
  created: string;
  actor: { type: string; id: string; collection: string; email: string };
  ip: string;
  action: string;
  resource: { kind: string; id: string; name: string };
  changes: Record<string, Change> | null;
};

export type AuditList = {
  page: number;
  perPage: number;
  totalItems: number;
  totalPages: number;
  items: AuditEntry[];
};

/** The kinds and their actions, as docs/audit.md lists them. */
export const KINDS: Record<string, string[]> = {
  collection: ["collection.create", "collection.update", "collection.delete"],
  settings: ["settings.update"],
  policy: ["policy.create", "policy.update", "policy.delete"],
  role: ["role.save", "role.delete", "role.member.add", "role.member.remove"],
  record: ["record.create", "record.update", "record.delete"],
};

/** Who acted, in a few words: the email, else the id, else the type. */
export function actorLabel(a: AuditEntry["actor"] | undefined): string {
  if (!a) return "";
  return a.email || a.id || a.type;
}

/** The changed keys, sorted, so a diff reads the same every time. */
export function changedKeys(e: AuditEntry | null): string[] {
  return Object.keys(e?.changes ?? {}).sort();
}

/** A diff side for display: JSON, with null (absent) kept apart by the caller. */
export function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  try {
    return JSON.stringify(v, null, 2) ?? "null";
  } catch {
    return String(v);
  }
}
