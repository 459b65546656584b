// This module is browser compatible.
/** Small shared pieces of the UI: links, notices, empty states. */
import type { ComponentChildren } from "preact";
import { onLinkClick } from "./router.ts";

/** A link inside the app (no reload). */
export function Link(
  props: { href: string; class?: string; children: ComponentChildren; current?: boolean },
) {
  return (
    <a
      href={props.href}
      class={props.class}
      onClick={onLinkClick}
      aria-current={props.current ? "page" : undefined}
    >
      {props.children}
    </a>
  );
}

/** An error from the node, shown as it said it. */
export function ErrorNote(props: { error?: string; onRetry?: () => void }) {
  if (!props.error) return null;
  return (
    <div class="note error" role="alert">
      <span>{props.error}</span>
      {props.onRetry && <button type="button" onClick={props.onRetry}>Try again</button>}
    </div>
  );
}

/** A page section with a heading. */
export function Card(props: { title: string; children: ComponentChildren; id?: string }) {
  const hid = props.id ?? `h-${props.title.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <section class="card" aria-labelledby={hid}>
      <h2 id={hid}>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** What to show where there is nothing yet. */
export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

/** Shown while the first answer is on its way. */
export function Loading() {
  return <p class="muted" aria-live="polite">Loading…</p>;
}
