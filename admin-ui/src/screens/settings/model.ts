// The settings model of GET/PATCH /api/settings (core.Settings) and the
// sections of the Settings screen. Each section owns some dotted paths of
// the settings: it saves only those, is "dirty" when they differ from the
// saved copy, and shows the validation errors under them.

export type S3Settings = {
  enabled: boolean;
  bucket: string;
  region: string;
  endpoint: string;
  accessKey: string;
  /** Never returned by the API; "" here means "keep the saved one". */
  secret: string;
  forcePathStyle: boolean;
};

export type RateLimitRule = { label: string; audience: string; duration: number; maxRequests: number };

export type Settings = {
  smtp: {
    enabled: boolean;
    port: number;
    host: string;
    username: string;
    /** Never returned by the API; "" here means "keep the saved one". */
    password: string;
    authMethod: string;
    tls: boolean;
    localName: string;
  };
  backups: { cron: string; cronMaxKeep: number; s3: S3Settings };
  s3: S3Settings;
  meta: { appName: string; appURL: string; senderName: string; senderAddress: string; hideControls: boolean };
  rateLimits: { rules: RateLimitRule[]; enabled: boolean };
  trustedProxy: { headers: string[]; useLeftmostIP: boolean };
  batch: { enabled: boolean; maxRequests: number; timeout: number; maxBodySize: number };
  logs: { maxDays: number; minLevel: number; logIP: boolean; logAuthId: boolean };
};

const emptyS3 = (): S3Settings => ({
  enabled: false,
  bucket: "",
  region: "",
  endpoint: "",
  accessKey: "",
  secret: "",
  forcePathStyle: false,
});

function blank(): Settings {
  return {
    smtp: { enabled: false, port: 0, host: "", username: "", password: "", authMethod: "", tls: false, localName: "" },
    backups: { cron: "", cronMaxKeep: 0, s3: emptyS3() },
    s3: emptyS3(),
    meta: { appName: "", appURL: "", senderName: "", senderAddress: "", hideControls: false },
    rateLimits: { rules: [], enabled: false },
    trustedProxy: { headers: [], useLeftmostIP: false },
    batch: { enabled: false, maxRequests: 0, timeout: 0, maxBodySize: 0 },
    logs: { maxDays: 0, minLevel: 0, logIP: false, logAuthId: false },
  };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

/** A deep copy of plain JSON data. */
export function clone<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

// Copies the values of raw that have the type of the template's, so a
// missing or malformed field of the server's answer keeps its blank value.
function conform(template: unknown, raw: unknown): unknown {
  if (Array.isArray(template)) {
    if (!Array.isArray(raw)) return template;
    const item = (template as unknown[])[0];
    return raw.map((r) => (item === undefined ? r : conform(clone(item), r)));
  }
  if (isObj(template)) {
    const out: Obj = {};
    for (const [k, t] of Object.entries(template)) out[k] = conform(t, isObj(raw) ? raw[k] : undefined);
    return out;
  }
  if (typeof template === "number") return typeof raw === "number" && Number.isFinite(raw) ? raw : template;
  return typeof raw === typeof template ? raw : template;
}

/** The server's settings in the screen's shape (every field present, secrets ""). */
export function normalize(raw: unknown): Settings {
  const template = blank() as unknown as Obj;
  // Array items get a template so their fields are conformed too.
  (template.rateLimits as Obj).rules = [{ label: "", audience: "", duration: 0, maxRequests: 0 }];
  (template.trustedProxy as Obj).headers = [""];
  const s = conform(template, raw) as Settings;
  s.trustedProxy.headers = s.trustedProxy.headers.filter((h) => h !== "");
  s.smtp.password = "";
  s.s3.secret = "";
  s.backups.s3.secret = "";
  return s;
}

function get(o: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);
}

/** The values of obj at the dotted paths, as one nested object. */
export function pick(obj: unknown, paths: string[]): Obj {
  const out: Obj = {};
  for (const p of paths) {
    const keys = p.split(".");
    let target = out;
    for (const k of keys.slice(0, -1)) target = (target[k] ??= {}) as Obj;
    target[keys[keys.length - 1]] = clone(get(obj, keys));
  }
  return out;
}

/** Writes the nested values of patch into target (arrays are replaced). */
export function assignDeep(target: Obj, patch: Obj) {
  for (const [k, v] of Object.entries(patch)) {
    if (isObj(v) && isObj(target[k])) assignDeep(target[k] as Obj, v);
    else target[k] = clone(v);
  }
}

// Empty number inputs bind to null; the API wants numbers (a JSON null
// would silently keep the old value).
function numbersOrZero(v: unknown): unknown {
  if (v === null || (typeof v === "number" && !Number.isFinite(v))) return 0;
  if (Array.isArray(v)) return v.map(numbersOrZero);
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, c] of Object.entries(v)) out[k] = numbersOrZero(c);
    return out;
  }
  return v;
}

export type SectionId = "application" | "mail" | "storage" | "backups" | "rateLimits" | "batch" | "logs";

export type Section = {
  id: SectionId;
  label: string;
  /** The dotted paths of the settings this section edits and saves. */
  paths: string[];
  /** Secret paths: sent only when the user typed a new value. */
  secrets: string[];
};

export const sections: Section[] = [
  {
    id: "application",
    label: "Application",
    paths: ["meta.appName", "meta.appURL", "meta.hideControls", "trustedProxy"],
    secrets: [],
  },
  { id: "mail", label: "Mail", paths: ["meta.senderName", "meta.senderAddress", "smtp"], secrets: ["smtp.password"] },
  { id: "storage", label: "File storage", paths: ["s3"], secrets: ["s3.secret"] },
  { id: "backups", label: "Backups", paths: ["backups"], secrets: ["backups.s3.secret"] },
  { id: "rateLimits", label: "Rate limits", paths: ["rateLimits"], secrets: [] },
  { id: "batch", label: "Batch", paths: ["batch"], secrets: [] },
  { id: "logs", label: "Logs", paths: ["logs"], secrets: [] },
];

/** The PATCH body of a section: its part of draft, without untouched secrets. */
export function sectionBody(section: Section, draft: Settings): Obj {
  const body = numbersOrZero(pick(draft, section.paths)) as Obj;
  for (const p of section.secrets) {
    const keys = p.split(".");
    const parent = get(body, keys.slice(0, -1));
    const last = keys[keys.length - 1];
    if (isObj(parent) && (parent[last] === "" || parent[last] == null)) delete parent[last];
  }
  return body;
}

export function isDirty(section: Section, draft: Settings, saved: Settings): boolean {
  return JSON.stringify(pick(draft, section.paths)) !== JSON.stringify(pick(saved, section.paths));
}

/** Whether a dotted error key ("smtp.host") belongs to one of the section's paths. */
export function owns(section: Section, key: string): boolean {
  return section.paths.some((p) => key === p || key.startsWith(p + "."));
}
