/**
 * Counters and gauges rendered in the Prometheus text exposition format (version 0.0.4).
 */

type Labels = Record<string, string>;

interface Family {
  help: string;
  type: "counter" | "gauge";
  values: Map<string, { labels: Labels; value: number | (() => number) }>;
}

/** A small metrics registry. */
export class Metrics {
  #families = new Map<string, Family>();

  #family(name: string, help: string, type: Family["type"]): Family {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) {
      throw new TypeError(`Invalid metric name "${name}"`);
    }
    let f = this.#families.get(name);
    if (!f) this.#families.set(name, f = { help, type, values: new Map() });
    return f;
  }

  /** Adds `by` to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const f = this.#family(name, help, "counter");
    const k = labelText(labels);
    const cur = f.values.get(k);
    const v = cur && typeof cur.value === "number" ? cur.value : 0;
    f.values.set(k, { labels, value: v + by });
  }

  /** Sets a gauge to a value, or to a function read at render time. */
  gauge(name: string, help: string, value: number | (() => number), labels: Labels = {}): void {
    this.#family(name, help, "gauge").values.set(labelText(labels), { labels, value });
  }

  /** Renders every metric. */
  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      out.push(`# HELP ${name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      out.push(`# TYPE ${name} ${f.type}`);
      for (const [lt, v] of f.values) {
        let n: number;
        try {
          n = typeof v.value === "function" ? v.value() : v.value;
        } catch {
          continue;
        }
        out.push(`${name}${lt} ${promNumber(n)}`);
      }
    }
    return out.join("\n") + "\n";
  }
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  return `{${keys.map((k) => `${k}="${esc(labels[k]!)}"`).join(",")}}`;
}

/** Prometheus spells infinities `+Inf` and `-Inf`. */
function promNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}
