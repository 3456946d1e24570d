// Field types as PocketBase v0.39 has them, with the options the collection
// editor shows for each.

export type Option =
  | { key: string; label: string; kind: "number" | "text" | "bool" | "list" | "date"; hint?: string }
  | { key: string; label: string; kind: "collection"; hint?: string };

export type FieldType = { type: string; label: string; icon: string; options: Option[] };

const domains: Option[] = [
  { key: "exceptDomains", label: "Except domains", kind: "list", hint: "Comma separated" },
  { key: "onlyDomains", label: "Only domains", kind: "list", hint: "Comma separated" },
];

export const FIELD_TYPES: FieldType[] = [
  { type: "text", label: "Plain text", icon: "T", options: [
    { key: "min", label: "Min length", kind: "number" },
    { key: "max", label: "Max length", kind: "number", hint: "0 means the default limit" },
    { key: "pattern", label: "Regex pattern", kind: "text", hint: "e.g. ^[a-z0-9]+$" },
    { key: "autogeneratePattern", label: "Autogenerate pattern", kind: "text", hint: "e.g. [a-z0-9]{8}" },
  ] },
  { type: "editor", label: "Rich editor", icon: "¶", options: [
    { key: "maxSize", label: "Max size (bytes)", kind: "number" },
    { key: "convertURLs", label: "Convert URLs to relative", kind: "bool" },
  ] },
  { type: "number", label: "Number", icon: "#", options: [
    { key: "min", label: "Min", kind: "number" },
    { key: "max", label: "Max", kind: "number" },
    { key: "onlyInt", label: "Integers only", kind: "bool" },
  ] },
  { type: "bool", label: "Bool", icon: "✓", options: [] },
  { type: "email", label: "Email", icon: "@", options: domains },
  { type: "url", label: "URL", icon: "↗", options: domains },
  { type: "date", label: "Date", icon: "▦", options: [
    { key: "min", label: "Min date", kind: "date" },
    { key: "max", label: "Max date", kind: "date" },
  ] },
  { type: "autodate", label: "Autodate", icon: "◷", options: [
    { key: "onCreate", label: "Set on create", kind: "bool" },
    { key: "onUpdate", label: "Set on update", kind: "bool" },
  ] },
  { type: "select", label: "Select", icon: "☰", options: [
    { key: "values", label: "Choices", kind: "list", hint: "Comma separated" },
    { key: "maxSelect", label: "Max select", kind: "number", hint: "More than 1 makes it multiple" },
  ] },
  { type: "file", label: "File", icon: "⎙", options: [
    { key: "maxSelect", label: "Max files", kind: "number" },
    { key: "maxSize", label: "Max size (bytes)", kind: "number" },
    { key: "mimeTypes", label: "Allowed MIME types", kind: "list", hint: "e.g. image/png, image/jpeg" },
    { key: "thumbs", label: "Thumb sizes", kind: "list", hint: "e.g. 100x100, 0x300" },
    { key: "protected", label: "Protected (needs a file token)", kind: "bool" },
  ] },
  { type: "relation", label: "Relation", icon: "⇄", options: [
    { key: "collectionId", label: "Collection", kind: "collection" },
    { key: "minSelect", label: "Min select", kind: "number" },
    { key: "maxSelect", label: "Max select", kind: "number", hint: "More than 1 makes it multiple" },
    { key: "cascadeDelete", label: "Cascade delete", kind: "bool" },
  ] },
  { type: "json", label: "JSON", icon: "{}", options: [{ key: "maxSize", label: "Max size (bytes)", kind: "number" }] },
  { type: "geoPoint", label: "Geo point", icon: "⌖", options: [] },
  { type: "password", label: "Password", icon: "•", options: [
    { key: "min", label: "Min length", kind: "number" },
    { key: "max", label: "Max length", kind: "number" },
    { key: "pattern", label: "Regex pattern", kind: "text" },
    { key: "cost", label: "bcrypt cost", kind: "number", hint: "0 means the default" },
  ] },
];

export function fieldType(type: string): FieldType {
  return FIELD_TYPES.find((t) => t.type === type) ?? { type, label: type, icon: "?", options: [] };
}

/** A new field of type with PocketBase's defaults. */
export function newField(type: string, name: string): Record<string, unknown> {
  const f: Record<string, unknown> = { name, type, required: false, hidden: false, presentable: false, system: false };
  switch (type) {
    case "select":
      Object.assign(f, { values: [], maxSelect: 1 });
      break;
    case "file":
      Object.assign(f, { maxSelect: 1, maxSize: 0, mimeTypes: [], thumbs: [], protected: false });
      break;
    case "relation":
      Object.assign(f, { collectionId: "", maxSelect: 1, minSelect: 0, cascadeDelete: false });
      break;
    case "autodate":
      Object.assign(f, { onCreate: true, onUpdate: false });
      break;
  }
  return f;
}

/** Rules every collection has, and those of auth collections. */
export const RULES = ["listRule", "viewRule", "createRule", "updateRule", "deleteRule"] as const;
export const AUTH_RULES = ["authRule", "manageRule"] as const;

export const RULE_HELP: Record<string, string> = {
  listRule: "Who may list and search records. Also filters the results.",
  viewRule: "Who may view one record.",
  createRule: "Who may create records.",
  updateRule: "Who may update records.",
  deleteRule: "Who may delete records.",
  authRule: "Extra condition to sign in (checked after the credentials). Empty = anyone who authenticates.",
  manageRule: "Who may manage other accounts of this collection (change their email, password, verified without the old password). A rule, or locked; never empty.",
};
