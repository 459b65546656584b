/**
 * A small HTTP load generator for side-by-side comparisons: `conns` loops each sending GET
 * requests back to back (keep-alive) for `secs` seconds, in its own process so the server it
 * measures keeps its CPU. Prints `{ requests, rps, p50, p99, errors }` as JSON (latencies in ms).
 *
 * `deno run -A bench/_load.ts <url> [conns=32] [secs=10] [host header]`
 */
const [url, connsText = "32", secsText = "10", host] = Deno.args;
if (!url) throw new Error("usage: _load.ts <url> [conns] [secs] [host]");
const conns = Number(connsText), secs = Number(secsText);
const headers: Record<string, string> = { "accept-encoding": "identity" };
if (host) headers.host = host;
const lat: number[] = [];
let errors = 0;
const end = performance.now() + secs * 1000;
// A second of warm-up, not counted.
const warm = performance.now() + 1000;
await Promise.all(Array.from({ length: conns }, async () => {
  while (performance.now() < end) {
    const t = performance.now();
    try {
      const r = await fetch(url, { headers });
      await r.arrayBuffer();
      if (r.status !== 200) errors++;
      else if (t > warm) lat.push(performance.now() - t);
    } catch {
      errors++;
    }
  }
}));
lat.sort((a, b) => a - b);
const at = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
console.log(JSON.stringify({
  requests: lat.length,
  rps: Math.round(lat.length / (secs - 1)),
  p50: +at(0.5).toFixed(2),
  p99: +at(0.99).toFixed(2),
  errors,
}));
