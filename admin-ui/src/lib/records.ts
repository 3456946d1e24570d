import type { CollectionModel, RecordModel } from "pocketbase";
import { pb } from "./pb";

type Field = CollectionModel["fields"][number];

/** The URL of a record's file, with a thumb when asked for. */
export function fileURL(record: RecordModel, filename: string, thumb = "", token = ""): string {
  return pb.files.getURL(record, filename, { thumb, token });
}

export function isImage(name: string): boolean {
  return /\.(png|jpe?g|gif|webp|svg|avif)$/i.test(name);
}

/** Text for a related record: its presentable fields, else its id. */
export function presentable(collection: CollectionModel | undefined, rec: RecordModel): string {
  const fields = collection?.fields.filter((f) => f.presentable && f.type !== "file") ?? [];
  const parts = fields.map((f) => cellText(f, rec[f.name])).filter((v) => v !== "");
  if (parts.length) return parts.join(" · ");
  for (const k of ["name", "title", "email", "username", "label"]) if (rec[k]) return String(rec[k]);
  return rec.id;
}

/** A one-line text for a cell; files and relations get their own cells. */
export function cellText(field: Field, value: unknown): string {
  if (value == null || value === "") return "";
  switch (field.type) {
    case "json":
      return JSON.stringify(value);
    case "editor":
      return String(value).replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
    case "bool":
      return value ? "true" : "false";
    case "geoPoint": {
      const p = value as { lon: number; lat: number };
      return `${p.lat}, ${p.lon}`;
    }
    case "password":
      return "";
  }
  return Array.isArray(value) ? value.join(", ") : String(value);
}

/** PocketBase's date string for a datetime-local input value, and back. */
export function toPBDate(local: string): string {
  if (!local) return "";
  const d = new Date(local);
  return isNaN(d.getTime()) ? "" : d.toISOString().replace("T", " ");
}

export function fromPBDate(value: string): string {
  if (!value) return "";
  const d = new Date(value.replace(" ", "T"));
  if (isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * A fetch for the SDK that reports upload progress: fetch() cannot, so
 * this one sends through XMLHttpRequest and answers with a Response. The
 * SDK still builds the request and parses the answer.
 */
export function fetchWithProgress(onProgress: (fraction: number) => void) {
  return (url: RequestInfo | URL, init?: RequestInit): Promise<Response> =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(init?.method ?? "GET", String(url));
      new Headers(init?.headers).forEach((v, k) => xhr.setRequestHeader(k, v));
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onload = () => {
        onProgress(1);
        const headers = new Headers();
        for (const line of xhr.getAllResponseHeaders().trim().split(/\r?\n/)) {
          const i = line.indexOf(":");
          if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
        }
        const body = xhr.status === 204 ? null : xhr.responseText;
        resolve(new Response(body, { status: xhr.status, statusText: xhr.statusText, headers }));
      };
      xhr.onerror = () => reject(new TypeError("Network request failed"));
      xhr.onabort = () => reject(new DOMException("Aborted", "AbortError"));
      init?.signal?.addEventListener("abort", () => xhr.abort());
      xhr.send(init?.body as XMLHttpRequestBodyInit | null);
    });
}
