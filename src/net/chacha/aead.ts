// This module is browser compatible.
/**
 * ChaCha20-Poly1305 (RFC 8439) over one instance of the WebAssembly kernel (kernel.wat). Data
 * moves through the kernel's fixed 64 KiB window: copied in, encrypted or decrypted and
 * authenticated there, copied out. Nothing is allocated but the result, and not even that when
 * `open` is given a destination: noise's node:crypto path allocates two fresh buffers per sealed
 * frame and one per opened frame (BENCHMARKS.md, "ChaCha20-Poly1305 for noise").
 *
 * Calls are synchronous and one instance serves one thread, so sharing an instance is safe.
 * @module
 */

const KEY = 16;
const NONCE = 52;
const TAG = 512;
const TAG_IN = 528;
const LENGTHS = 544;
const WINDOW = 65536;
/** A multiple of 64, so every window step but a message's last covers whole ChaCha20 blocks. */
const WINDOW_BYTES = 65536;
const TAG_BYTES = 16;

/** The kernel's exports (kernel.wat documents each). */
interface KernelExports {
  memory: WebAssembly.Memory;
  begin(): void;
  xor(p: number, len: number): void;
  poly(p: number, len: number): void;
  seal(p: number, len: number): void;
  open(p: number, len: number): void;
  tag(out: number): void;
  verify(a: number, b: number): number;
}

/**
 * Bytes in order: one `Uint8Array`, or its pieces (a `Uint8ArrayList` iterates its pieces, which
 * is how noise hands over a frame built from several buffers).
 */
export type Bytes = Uint8Array | {
  readonly byteLength: number;
  [Symbol.iterator](): Iterator<Uint8Array>;
};

/** The pieces of `bytes` between `start` and `end`, in order, without copying. */
function* pieces(bytes: Bytes, start: number, end: number): Generator<Uint8Array> {
  if (bytes instanceof Uint8Array) {
    if (end > start) yield bytes.subarray(start, end);
    return;
  }
  let at = 0;
  for (const piece of bytes) {
    const from = Math.max(start - at, 0);
    const to = Math.min(end - at, piece.length);
    if (to > from) yield piece.subarray(from, to);
    at += piece.length;
    if (at >= end) return;
  }
}

function checkLength(what: string, bytes: Uint8Array, want: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== want) {
    throw new TypeError(
      `Cannot use ChaCha20-Poly1305: the ${what} must be ${want} bytes, got ${
        bytes instanceof Uint8Array ? bytes.length : typeof bytes
      }`,
    );
  }
}

/** ChaCha20-Poly1305 on one kernel instance. */
export class ChaCha20Poly1305 {
  readonly #k: KernelExports;
  readonly #mem: Uint8Array;
  readonly #view: DataView;

  /** Instantiates the compiled kernel (see `chachaKernel` in detect.ts for the shared one). */
  constructor(module: WebAssembly.Module) {
    this.#k = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
    // The kernel's memory never grows, so these views stay attached.
    this.#mem = new Uint8Array(this.#k.memory.buffer);
    this.#view = new DataView(this.#k.memory.buffer);
  }

  /**
   * Encrypts `plaintext` under `key` (32 bytes) and `nonce` (12 bytes), authenticating it with
   * `ad`; returns the ciphertext followed by the 16-byte tag.
   */
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Bytes): Uint8Array {
    const n = plaintext.byteLength;
    const out = new Uint8Array(n + TAG_BYTES);
    this.#begin(key, nonce, ad);
    const k = this.#k;
    this.#stream(plaintext, 0, n, (len, at) => {
      k.seal(WINDOW, len);
      out.set(this.#mem.subarray(WINDOW, WINDOW + len), at);
    });
    this.#finish(ad.length, n);
    out.set(this.#mem.subarray(TAG, TAG + TAG_BYTES), n);
    return out;
  }

  /**
   * Checks the tag at the end of `sealed` and decrypts the rest into `dst` (which may be the
   * ciphertext's own bytes, as noise passes it) or a new array. Throws, writing nothing, when
   * the tag does not match: a wrong key, nonce or `ad`, or altered bytes.
   */
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    sealed: Bytes,
    dst?: Uint8Array,
  ): Uint8Array {
    const n = sealed.byteLength - TAG_BYTES;
    if (n < 0) {
      throw new RangeError(
        `Cannot open: ${sealed.byteLength} bytes is shorter than the 16-byte ChaCha20-Poly1305 tag`,
      );
    }
    if (dst !== undefined && dst.length < n) {
      throw new RangeError(`Cannot open ${n} bytes into a destination of ${dst.length}`);
    }
    const out = dst ? dst.subarray(0, n) : new Uint8Array(n);
    this.#begin(key, nonce, ad);
    const k = this.#k;
    const mem = this.#mem;
    // A message that fits the window (every noise frame) is authenticated and decrypted there in
    // one pass; a longer one is authenticated in a first pass and decrypted in a second. Either
    // way no plaintext leaves the window before the tag is checked.
    const fits = n <= WINDOW_BYTES;
    this.#stream(sealed, 0, n, (len) => fits ? k.open(WINDOW, len) : k.poly(WINDOW, len));
    this.#finish(ad.length, n);
    let at = TAG_IN;
    for (const piece of pieces(sealed, n, n + TAG_BYTES)) {
      mem.set(piece, at);
      at += piece.length;
    }
    if (k.verify(TAG, TAG_IN) !== 1) {
      mem.fill(0, WINDOW, WINDOW + WINDOW_BYTES);
      throw new Error("Cannot open: the ChaCha20-Poly1305 tag does not match");
    }
    if (fits) out.set(mem.subarray(WINDOW, WINDOW + n));
    else {
      this.#stream(sealed, 0, n, (len, at) => {
        k.xor(WINDOW, len);
        out.set(mem.subarray(WINDOW, WINDOW + len), at);
      });
    }
    return out;
  }

  /** Loads key and nonce, derives the one-time Poly1305 key, and authenticates `ad`. */
  #begin(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array): void {
    checkLength("key", key, 32);
    checkLength("nonce", nonce, 12);
    this.#mem.set(key, KEY);
    this.#mem.set(nonce, NONCE);
    this.#k.begin();
    const k = this.#k;
    this.#stream(ad, 0, ad.length, (len) => k.poly(WINDOW, len));
  }

  /** Authenticates the two lengths (RFC 8439 section 2.8) and leaves the tag at `TAG`. */
  #finish(adLength: number, textLength: number): void {
    const v = this.#view;
    v.setUint32(LENGTHS, adLength >>> 0, true);
    v.setUint32(LENGTHS + 4, Math.floor(adLength / 2 ** 32), true);
    v.setUint32(LENGTHS + 8, textLength >>> 0, true);
    v.setUint32(LENGTHS + 12, Math.floor(textLength / 2 ** 32), true);
    this.#k.poly(LENGTHS, 16);
    this.#k.tag(TAG);
  }

  /**
   * Copies bytes `start..end` of `input` into the window a full window at a time and calls
   * `step(len, offset)` for each, the last step with the remainder.
   */
  #stream(
    input: Bytes,
    start: number,
    end: number,
    step: (len: number, offset: number) => void,
  ): void {
    let fill = 0;
    let done = 0;
    for (const piece of pieces(input, start, end)) {
      for (let i = 0; i < piece.length;) {
        const take = Math.min(WINDOW_BYTES - fill, piece.length - i);
        this.#mem.set(piece.subarray(i, i + take), WINDOW + fill);
        fill += take;
        i += take;
        if (fill === WINDOW_BYTES) {
          step(fill, done);
          done += fill;
          fill = 0;
        }
      }
    }
    if (fill > 0) step(fill, done);
  }
}
