// A hash router: the server serves index.html for every path under /_/,
// and hash routes keep the install link (/_/#/install/TOKEN) working
// behind any proxy path.

export type Route = { path: string; segments: string[]; query: URLSearchParams };

function parse(): Route {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, qs = ""] = raw.split("?", 2);
  return { path, segments: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(qs) };
}

export const route = $state<{ current: Route }>({ current: parse() });

window.addEventListener("hashchange", () => {
  route.current = parse();
});

/** Goes to path (e.g. "/collections/posts"), with optional query. */
export function navigate(path: string, query?: Record<string, string | undefined>, replace = false) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  const hash = "#" + path + (s ? "?" + s : "");
  if (replace) {
    history.replaceState(null, "", hash);
    route.current = parse();
  } else {
    window.location.hash = hash;
  }
}

export function href(path: string): string {
  return "#" + path;
}
