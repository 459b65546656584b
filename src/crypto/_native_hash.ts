// This module is browser compatible.
/**
 * The runtime's native, synchronous SHA-256 when it has Node's crypto module (Deno, Node, Bun,
 * Workers with nodejs_compat), found without a static import so browsers load this file too.
 * Hashing many small inputs (4 KiB Merkle leaves) this way costs about 2 ms per MiB here,
 * against 3.6–6 ms through WebCrypto, whose per-call overhead dominates at that size.
 */

interface Hash {
  update(data: Uint8Array): Hash;
  digest(): Uint8Array;
}

type CreateHash = (algorithm: "sha256") => Hash;
type OneShot = (algorithm: "sha256", data: Uint8Array, encoding: "buffer") => Uint8Array;

const nodeCrypto = (() => {
  try {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    return p?.getBuiltinModule?.("node:crypto") as
      | { createHash?: CreateHash; hash?: OneShot }
      | undefined;
  } catch {
    return undefined;
  }
})();

/** `createHash` from `node:crypto`, or undefined where the runtime has none. */
export const nativeCreateHash: CreateHash | undefined = typeof nodeCrypto?.createHash === "function"
  ? nodeCrypto.createHash
  : undefined;

/**
 * `hash` from `node:crypto` (one call per input, no hash object), or undefined where the runtime
 * has none. For 4 KiB leaves it took 1.5 ms per MiB here against 2.7–3.1 ms for `createHash`, and
 * left almost no garbage on the V8 heap (a hash object per leaf left 1–3 MiB per 64 MiB).
 */
export const nativeHash: OneShot | undefined = typeof nodeCrypto?.hash === "function"
  ? nodeCrypto.hash
  : undefined;
