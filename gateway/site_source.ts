// This module is browser compatible.
/**
 * What the public gateway needs to serve hosted sites, whoever backs it: a node (records from its
 * DHT, shards from suppliers over libp2p) or the edge entry (records and shards over HTTP).
 *
 * A site is addressed by a 52-character lower-case base32 label (the hash part of its signed
 * record's key: `/mote/site/<address>`), so a site name maps to a DHT key with nothing else to
 * look up. `site()` resolves the newest record and its index; `open()` streams one file.
 */

/** Lower-case base32 of a SHA-256: what a site address looks like. */
export const SITE_ADDRESS_RE = /^[a-z2-7]{52}$/;

/** One file of a published site. */
export interface SiteFile {
  /** Its path in the site, starting with "/" (e.g. "/index.html", "/img/a.png"). */
  readonly path: string;
  /** Plaintext size in bytes. */
  readonly size: number;
  /** Content type (with charset for text), decided when the site was published. */
  readonly type: string;
  /** Modification time (ms since the epoch), for Last-Modified. */
  readonly modified: number;
  /** A strong validator of the bytes (lower-case hex of their SHA-256). */
  readonly hash: string;
  /** Sizes of compressed copies stored alongside, by content coding. */
  readonly encodings?: Readonly<Partial<Record<"br" | "gzip", number>>>;
}

/** A published site: the files of one version, atomically. */
export interface Site {
  readonly address: string;
  /** The record's sequence number (a newer publish has a higher one). */
  readonly seq: number;
  /** When this version was published (ms). */
  readonly published: number;
  /** Files by path. */
  readonly files: ReadonlyMap<string, SiteFile>;
  /** The text of the site's `_redirects` file, when it has one (Netlify and IPFS convention). */
  readonly redirects?: string;
}

/** Where sites come from. */
export interface SiteSource {
  /** The newest version of the site at `address`, or undefined when there is none (or removed). */
  site(address: string, signal?: AbortSignal): Promise<Site | undefined>;
  /**
   * Streams a file of `site`: the whole file, or the bytes [start, end) of its plaintext; or,
   * with `encoding`, the whole stored compressed copy (ranges are served from the plaintext).
   * Every shard behind it is verified before a byte is sent.
   */
  open(
    site: Site,
    file: SiteFile,
    opts?: {
      range?: { start: number; end: number };
      encoding?: "br" | "gzip";
      signal?: AbortSignal;
    },
  ): Promise<ReadableStream<Uint8Array>>;
  /**
   * The whole file (or its stored `encoding` copy) when its bytes are in memory now, else
   * undefined: the gateway answers hot files from it without a stream. Optional.
   */
  cached?(site: Site, file: SiteFile, encoding?: "br" | "gzip"): Uint8Array | undefined;
}
