// This module is browser compatible.
/**
 * The Mote web UI: a layout with navigation and the pages of what exists today (Home, Files,
 * Sites, Worlds, Sharing, Network, Settings), plus the slots of the pages that come with later
 * capabilities.
 */
import { render } from "preact";
import { useEffect } from "preact/hooks";
import { useConnected, useStatus } from "./live.ts";
import { usePath } from "./router.ts";
import { Link } from "./ui.tsx";
import { send } from "./api.ts";
import { HomePage } from "./pages/home.tsx";
import { FilesPage } from "./pages/files.tsx";
import { NetworkPage } from "./pages/network.tsx";
import { SettingsPage } from "./pages/settings.tsx";
import { SitesPage } from "./pages/sites.tsx";
import { WorldsPage } from "./pages/worlds.tsx";
import { SharingPage } from "./pages/sharing.tsx";
import { ComingPage, LATER } from "./pages/coming.tsx";

const PAGES = [
  { href: "/", label: "Home" },
  { href: "/files", label: "Files" },
  { href: "/sites", label: "Sites" },
  { href: "/worlds", label: "Worlds" },
  { href: "/sharing", label: "Sharing" },
  { href: "/network", label: "Network" },
  { href: "/settings", label: "Settings" },
];

function section(path: string): string {
  return "/" + (path.split("/")[1] ?? "");
}

function App() {
  const path = usePath();
  const connected = useConnected();
  const status = useStatus();
  const here = section(path);
  const page = PAGES.find((p) => p.href === here);
  const later = LATER.find((p) => p.href === here);
  useEffect(() => {
    const name = page?.label ?? later?.label ?? "Not found";
    document.title = `${name} · Mote${status.data ? ` · ${status.data.nickname}` : ""}`;
  }, [here, status.data?.nickname]);
  return (
    <div class="layout">
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <span class="brand">Mote</span>
        <span class="who" title={status.data?.id}>{status.data?.nickname ?? ""}</span>
        <span class={`dot ${connected ? "on" : "off"}`} role="status">
          {connected ? "Connected" : "Reconnecting…"}
        </span>
        {status.data?.remoteAccess && (
          <button
            type="button"
            onClick={() => send("POST", "/api/v1/logout").finally(() => location.assign("/login"))}
          >
            Log out
          </button>
        )}
      </header>
      <nav class="nav" aria-label="Main">
        <ul>
          {PAGES.map((p) => (
            <li key={p.href}>
              <Link href={p.href} current={p.href === here}>{p.label}</Link>
            </li>
          ))}
        </ul>
        <p class="later-title" id="later-title">Coming later</p>
        <ul class="later" aria-labelledby="later-title">
          {LATER.map((p) => (
            <li key={p.href}>
              <Link href={p.href} current={p.href === here}>{p.label}</Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {here === "/" && <HomePage status={status} connected={connected} />}
        {here === "/files" && <FilesPage path={path} />}
        {here === "/sites" && <SitesPage />}
        {here === "/worlds" && <WorldsPage />}
        {here === "/sharing" && <SharingPage />}
        {here === "/network" && <NetworkPage status={status} />}
        {here === "/settings" && <SettingsPage status={status} />}
        {later && <ComingPage page={later} />}
        {!page && !later && (
          <section class="card">
            <h1>Not found</h1>
            <p>
              There is no page at <code>{path}</code>. <Link href="/">Go home</Link>.
            </p>
          </section>
        )}
      </main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
