// Dark mode follows the system until the user picks one.
const key = "hg_dashboard_theme";

export function currentTheme(): "light" | "dark" {
  const saved = localStorage.getItem(key);
  if (saved === "light" || saved === "dark") return saved;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function applyTheme(theme = currentTheme()) {
  document.documentElement.dataset.theme = theme;
}

export function toggleTheme() {
  const next = currentTheme() === "dark" ? "light" : "dark";
  localStorage.setItem(key, next);
  applyTheme(next);
}
