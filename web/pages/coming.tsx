// This module is browser compatible.
/** The slots of the pages that arrive with later capabilities. */

/** A page still to come, and the capability that brings it. */
export interface LaterPage {
  href: string;
  label: string;
  comes: string;
}

/** Messages and Search: each gets its page with its issue. */
export const LATER: LaterPage[] = [
  { href: "/messages", label: "Messages", comes: "messages" },
  { href: "/search", label: "Search", comes: "search" },
];

/** The placeholder of a page still to come. */
export function ComingPage(props: { page: LaterPage }) {
  return (
    <section class="card">
      <h1>{props.page.label}</h1>
      <p class="empty">
        {props.page.label} arrives with {props.page.comes}. This node does not offer it yet.
      </p>
    </section>
  );
}
