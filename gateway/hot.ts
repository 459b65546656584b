// This module is browser compatible.
/**
 * Ready-made responses for hot site files. A file served whole from memory (`SiteSource.cached`)
 * has its final response (status, every header the app added, the bytes) remembered by request
 * URL and Accept-Encoding for a moment; a plain GET for the same thing within that moment is
 * answered from it without routing, header building or a stream. That is most requests a busy
 * site gets, and it keeps the gateway's cost per hot request near the runtime's own.
 *
 * Only plain GETs qualify: any Range, If-* or Authorization header takes the full path (which
 * answers validators, ranges and errors). An entry lives `ttl` ms (1 s by default), so a
 * republished site is seen no later than that after the full path sees it.
 * @module
 */

/** Responses marked by the site layer as whole hot files, with their bytes. */
const marked = new WeakMap<Response, Uint8Array>();

/** Marks `res` (a 200 with exactly `bytes` as its body) as one the hot cache may keep. */
export function markHot(res: Response, bytes: Uint8Array): Response {
  marked.set(res, bytes);
  return res;
}

/** A remembered 200: when it was kept, its final headers and its body. */
interface Entry {
  at: number;
  headers: [string, string][];
  bytes: Uint8Array<ArrayBuffer>;
}

/** Headers that make a request more than a plain GET of the whole file. */
const SPECIAL = ["range", "if-none-match", "if-modified-since", "if-range", "authorization"];

/** Remembers the responses of hot files, at most `max` entries and `maxBytes` of bodies. */
export class HotResponses {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #ttl: number;
  #bytes = 0;

  constructor(opts: { max?: number; maxBytes?: number; ttl?: number } = {}) {
    this.#max = opts.max ?? 1024;
    this.#maxBytes = opts.maxBytes ?? 16 << 20;
    this.#ttl = opts.ttl ?? 1_000;
  }

  /** The cache key of a plain GET, or undefined when the request must take the full path. */
  keyOf(req: Request): string | undefined {
    if (req.method !== "GET" || req.url.length > 2048) return undefined;
    const h = req.headers;
    for (const name of SPECIAL) if (h.has(name)) return undefined;
    const enc = h.get("accept-encoding") ?? "";
    if (enc.length > 256) return undefined;
    return `${req.url}\n${enc}`;
  }

  /** A fresh copy of the remembered response for `key`, if any. */
  answer(key: string): Response | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (Date.now() - e.at > this.#ttl) {
      this.#drop(key, e);
      return undefined;
    }
    return new Response(e.bytes, { headers: e.headers });
  }

  /** Keeps `res` for `key` when the site layer marked it hot. */
  keep(key: string, res: Response): void {
    const bytes = marked.get(res);
    if (!bytes || res.status !== 200 || bytes.length > this.#maxBytes / 16) return;
    const old = this.#entries.get(key);
    if (old) this.#drop(key, old);
    this.#entries.set(key, {
      at: Date.now(),
      headers: [...res.headers],
      bytes: bytes as Uint8Array<ArrayBuffer>,
    });
    this.#bytes += bytes.length;
    while (this.#entries.size > this.#max || this.#bytes > this.#maxBytes) {
      const [k, e] = this.#entries.entries().next().value!;
      this.#drop(k, e);
    }
  }

  #drop(key: string, e: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= e.bytes.length;
  }
}
