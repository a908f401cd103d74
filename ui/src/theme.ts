// Light or dark: the writer's choice, or the desktop's ("system"), followed also when the
// desktop changes while the app is open.
import type { Settings } from "./ipc";

const darkScheme = window.matchMedia("(prefers-color-scheme: dark)");
let chosen: Settings["theme"] = "system";

/** Shows the page in `theme` from now on. */
export function applyTheme(theme: Settings["theme"]) {
  chosen = theme;
  const dark = theme === "dark" || (theme === "system" && darkScheme.matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

darkScheme.addEventListener("change", () => applyTheme(chosen));
