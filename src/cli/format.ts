/** Output helpers: aligned tables for people, JSON for scripts. */

/** Prints rows as an aligned table with a header. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i]!)).join("  "))
    .join(
      "\n",
    );
}

/** Prints a value as indented JSON. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Human duration from seconds: `3d 4h`, `5m 2s`. */
export function ago(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Prints label/value pairs, labels aligned. */
export function fields(rows: (string | number)[][]): string {
  const w = Math.max(...rows.map((r) => String(r[0]).length));
  return rows.map(([k, v]) => `${String(k).padEnd(w)}  ${v}`).join("\n");
}
