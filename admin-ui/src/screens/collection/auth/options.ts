// Shared knowledge of an auth collection's options as Hatchgrid stores
// them (core/collection.go, core/auth_options.go, core/oauth2*.go,
// core/mail_templates.go): defaults, providers, templates, helpers.

export type Errors = Record<string, string>;

/** A collection draft: the JSON of GET /api/collections/{name}. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Draft = any;

/** The server's defaults for options it leaves out of the JSON until set. */
export const OTP_DEFAULTS = { enabled: false, duration: 180, length: 8 };
export const MFA_DEFAULTS = { enabled: false, duration: 1800, rule: "" };
export const AUTH_ALERT_DEFAULTS = { enabled: true };

export type Provider = { name: string; title: string; oidc?: boolean; authURL?: string; tokenURL?: string; userInfoURL?: string };

/** The providers core knows (core/oauth2_providers.go OAuth2ProviderNames). */
export const PROVIDERS: Provider[] = [
  { name: "apple", title: "Apple", authURL: "https://appleid.apple.com/auth/authorize", tokenURL: "https://appleid.apple.com/auth/token" },
  { name: "discord", title: "Discord", authURL: "https://discord.com/api/oauth2/authorize", tokenURL: "https://discord.com/api/oauth2/token", userInfoURL: "https://discord.com/api/users/@me" },
  { name: "github", title: "GitHub", authURL: "https://github.com/login/oauth/authorize", tokenURL: "https://github.com/login/oauth/access_token", userInfoURL: "https://api.github.com/user" },
  { name: "gitlab", title: "GitLab", authURL: "https://gitlab.com/oauth/authorize", tokenURL: "https://gitlab.com/oauth/token", userInfoURL: "https://gitlab.com/api/v4/user" },
  { name: "google", title: "Google", authURL: "https://accounts.google.com/o/oauth2/v2/auth", tokenURL: "https://oauth2.googleapis.com/token", userInfoURL: "https://www.googleapis.com/oauth2/v3/userinfo" },
  { name: "microsoft", title: "Microsoft", authURL: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize", tokenURL: "https://login.microsoftonline.com/common/oauth2/v2.0/token", userInfoURL: "https://graph.microsoft.com/v1.0/me" },
  { name: "oidc", title: "OIDC", oidc: true },
  { name: "oidc2", title: "OIDC #2", oidc: true },
  { name: "oidc3", title: "OIDC #3", oidc: true },
];

export function providerInfo(name: string): Provider {
  return PROVIDERS.find((p) => p.name === name) ?? { name, title: name || "Unknown provider" };
}

export type TemplateKind = {
  id: string;
  title: string;
  /** The option key holding the template, and the nested key if any. */
  key: string;
  nested?: boolean;
  placeholders: string[];
  subject: string;
  body: string;
};

const FOOTER = `<p>The {APP_NAME} team</p>`;

/** The five auth emails, with core's built-in wording (sent while empty). */
export const TEMPLATES: TemplateKind[] = [
  {
    id: "verification", title: "Verification", key: "verificationTemplate", placeholders: ["{TOKEN}"],
    subject: "Confirm your email for {APP_NAME}",
    body: `<p>Hi,</p>
<p>Welcome to {APP_NAME}! Please confirm that this email address is yours.</p>
<p><a class="btn" href="{APP_URL}/_/#/auth/confirm-verification/{TOKEN}" target="_blank" rel="noopener">Confirm my email</a></p>
<p>If you did not sign up, you can ignore this message.</p>
${FOOTER}`,
  },
  {
    id: "reset", title: "Reset password", key: "resetPasswordTemplate", placeholders: ["{TOKEN}"],
    subject: "Choose a new {APP_NAME} password",
    body: `<p>Hi,</p>
<p>We received a request to reset the password of your {APP_NAME} account. Use the link below to choose a new one.</p>
<p><a class="btn" href="{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}" target="_blank" rel="noopener">Choose a new password</a></p>
<p>If you did not ask for this, ignore this message: your password stays as it is.</p>
${FOOTER}`,
  },
  {
    id: "email-change", title: "Confirm email change", key: "confirmEmailChangeTemplate", placeholders: ["{TOKEN}"],
    subject: "Confirm your new {APP_NAME} email address",
    body: `<p>Hi,</p>
<p>Someone asked to move your {APP_NAME} account to this email address. Confirm the change with the link below.</p>
<p><a class="btn" href="{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}" target="_blank" rel="noopener">Confirm the new address</a></p>
<p>If you did not ask for this, ignore this message and nothing changes.</p>
${FOOTER}`,
  },
  {
    id: "otp", title: "OTP", key: "otp", nested: true, placeholders: ["{OTP}", "{OTP_ID}"],
    subject: "Your {APP_NAME} sign-in code",
    body: `<p>Hi,</p>
<p>Here is your one-time code to sign in to {APP_NAME}:</p>
<p class="hg-code"><strong>{OTP}</strong></p>
<p>The code works once and only for a short time. If you did not try to sign in, you can ignore this message.</p>
${FOOTER}`,
  },
  {
    id: "alert", title: "Auth alert", key: "authAlert", nested: true, placeholders: ["{ALERT_INFO}"],
    subject: "New sign-in to your {APP_NAME} account",
    body: `<p>Hi,</p>
<p>Your {APP_NAME} account was just used to sign in from a new location:</p>
<p><em>{ALERT_INFO}</em></p>
<p>If this was you, there is nothing to do.</p>
<p><strong>If it was not you, change your {APP_NAME} password right away.</strong></p>
${FOOTER}`,
  },
];

/** The error-path prefix of a template's subject and body. */
export function templatePath(t: TemplateKind): string {
  return t.nested ? `${t.key}.emailTemplate` : t.key;
}

export type TokenKind = { key: string; title: string; hint: string };

export const TOKENS: TokenKind[] = [
  { key: "authToken", title: "Auth token", hint: "How long a sign-in lasts." },
  { key: "verificationToken", title: "Email verification token", hint: "How long a verification link works." },
  { key: "passwordResetToken", title: "Password reset token", hint: "How long a password reset link works." },
  { key: "emailChangeToken", title: "Email change token", hint: "How long an email change confirmation works." },
  { key: "fileToken", title: "Protected file access token", hint: "How long a token for protected files works." },
];

export function isObject(v: unknown): v is Record<string, any> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** The object at collection[key], created (with defaults) if missing or malformed. */
export function ensure(collection: Draft, key: string, defaults: Record<string, unknown> = {}): Record<string, any> {
  if (!isObject(collection[key])) collection[key] = { ...defaults };
  return collection[key];
}

/**
 * Reads collection[key][prop], falling back to defaults[prop] while it is
 * missing (a null, e.g. a cleared number input, stays null).
 */
export function read(collection: Draft, key: string, prop: string, defaults: Record<string, any> = {}): any {
  const o = collection?.[key];
  if (isObject(o) && o[prop] !== undefined) return o[prop];
  return defaults[prop];
}

function unquote(s: string): string {
  const t = s.trim().split(/\s+/)[0] ?? "";
  return t.replace(/^[`"'[]|[`"'\]]$/g, "");
}

/**
 * The names of the columns that a single-column unique index covers,
 * lower-cased, read from CREATE UNIQUE INDEX statements.
 */
export function uniqueColumns(indexes: unknown): Set<string> {
  const out = new Set<string>();
  if (!Array.isArray(indexes)) return out;
  for (const sql of indexes) {
    if (typeof sql !== "string") continue;
    const m = /^\s*create\s+unique\s+index\s+(?:if\s+not\s+exists\s+)?\S+\s+on\s+\S+\s*\(([^)]*)\)/i.exec(sql);
    if (!m) continue;
    const cols = m[1].split(",");
    if (cols.length === 1) out.add(unquote(cols[0]).toLowerCase());
  }
  return out;
}

export type FieldLike = { name: string; type: string; hidden?: boolean; system?: boolean };

export function fieldsOf(collection: Draft): FieldLike[] {
  const f = collection?.fields;
  if (!Array.isArray(f)) return [];
  return f.filter((x: any) => isObject(x) && typeof x.name === "string" && x.name !== "");
}

/** Fields that can be identities: email and text fields with a unique index of their own. */
export function identityCandidates(collection: Draft): string[] {
  const unique = uniqueColumns(collection?.indexes);
  const out: string[] = [];
  for (const f of fieldsOf(collection)) {
    if (f.hidden || (f.type !== "email" && f.type !== "text")) continue;
    if (f.name === "id") continue;
    if (f.name === "email" || unique.has(f.name.toLowerCase())) out.push(f.name);
  }
  return out;
}

/** "1 day 2 hours" for a number of seconds; "" for anything unusable. */
export function humanDuration(secs: unknown): string {
  const n = typeof secs === "number" ? secs : Number(secs);
  if (!Number.isFinite(n) || n <= 0) return "";
  const units: [number, string][] = [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
  const parts: string[] = [];
  let rest = Math.floor(n);
  for (const [size, name] of units) {
    const q = Math.floor(rest / size);
    if (q > 0) {
      parts.push(`${q} ${name}${q === 1 ? "" : "s"}`);
      rest -= q * size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** A local check of a duration in seconds; "" when fine. */
export function durationProblem(v: unknown, min = 1, max = 0): string {
  if (v === undefined || v === null || v === "") return "Cannot be blank.";
  const n = Number(v);
  if (!Number.isInteger(n)) return "Must be a whole number of seconds.";
  if (n < min) return `Must be no less than ${min}.`;
  if (max && n > max) return `Must be no more than ${max}.`;
  return "";
}

/** Errors whose key starts with one of prefixes, for a tab's marker. */
export function countErrors(errors: Errors, prefixes: string[]): number {
  let n = 0;
  for (const k of Object.keys(errors ?? {})) {
    if (prefixes.some((p) => k === p || k.startsWith(p + "."))) n++;
  }
  return n;
}
