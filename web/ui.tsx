// This module is browser compatible.
/** Small shared pieces of the UI: links, notices, empty states, the name field of forms. */
import type { ComponentChildren, Ref } from "preact";
import { short } from "./format.ts";
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

/** Site and world names: one DNS-label-like word. */
const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `name` cannot name a `kind` ("site", "world"), or nothing when it can. */
export function nameProblem(kind: string, name: string): string | undefined {
  if (name === "") return `Give the ${kind} a name.`;
  if (NAME_RE.test(name)) return undefined;
  return `“${name.slice(0, 70)}” cannot be a ${kind} name: use 1 to 63 lower-case letters ` +
    "(a–z), digits and hyphens, with no hyphen first or last.";
}

/**
 * The name field of the Sites and Worlds forms: a label, the input (trimmed as typed) and a note
 * under it that says the problem, once there is one to show, instead of the hint.
 */
export function NameField(props: {
  id: string;
  value: string;
  placeholder: string;
  /** Shown instead of `hint` (and the input marked invalid) when set. */
  problem?: string;
  hint: ComponentChildren;
  inputRef?: Ref<HTMLInputElement>;
  onInput: (value: string) => void;
}) {
  const note = `${props.id}-note`;
  return (
    <>
      <label for={props.id}>Name</label>
      <input
        id={props.id}
        ref={props.inputRef}
        value={props.value}
        maxLength={63}
        autoComplete="off"
        spellcheck={false}
        placeholder={props.placeholder}
        aria-invalid={props.problem ? true : undefined}
        aria-describedby={note}
        onInput={(e) => props.onInput((e.currentTarget as HTMLInputElement).value.trim())}
      />
      <span id={note} class={props.problem ? "error-text" : "muted"}>
        {props.problem ?? props.hint}
      </span>
    </>
  );
}

/** A site's or world's cell in a list: its name (or title), and its address shortened. */
export function NameCell(props: { name: string; address: string; children?: ComponentChildren }) {
  return (
    <>
      <strong>{props.name}</strong>
      {props.children}
      <br />
      <code class="muted" title={props.address}>{short(props.address, 16)}</code>
    </>
  );
}
