export type Toast = { id: number; kind: "success" | "error" | "info"; text: string };

export const toasts = $state<Toast[]>([]);
let next = 1;

export function toast(text: string, kind: Toast["kind"] = "success", ms = kind === "error" ? 6000 : 3000) {
  const id = next++;
  toasts.push({ id, kind, text });
  setTimeout(() => dismiss(id), ms);
}

export function dismiss(id: number) {
  const i = toasts.findIndex((t) => t.id === id);
  if (i >= 0) toasts.splice(i, 1);
}
