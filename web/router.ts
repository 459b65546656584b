// This module is browser compatible.
/**
 * A tiny client-side router: the URL path is the state, links push history entries, and the node
 * answers `index.html` for every page's path, so reloading or sharing a URL works.
 */
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();

/** Goes to a path inside the UI without reloading. */
export function navigate(href: string): void {
  if (href === location.pathname + location.search) return;
  history.pushState(null, "", href);
  for (const l of listeners) l();
  globalThis.scrollTo?.(0, 0);
}

/** The current path, re-rendering on navigation and on back/forward. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return path;
}

/** A click handler for `<a>` that keeps plain left clicks inside the app. */
export function onLinkClick(e: MouseEvent): void {
  const a = e.currentTarget as HTMLAnchorElement | null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  if (a.origin !== location.origin || a.hasAttribute("download")) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}
