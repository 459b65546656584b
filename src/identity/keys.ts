// This module is browser compatible.
/** The long-lived identity keys: Ed25519 for signing, X25519 for key agreement. */
import { agreePublicKey } from "../crypto/agree.ts";
import { randomBytes } from "../crypto/hash.ts";
import { sign, signPublicKey } from "../crypto/sign.ts";
import { nodeIdOf } from "./node_id.ts";

/** A user's identity keys. The secrets never leave the node that holds them. */
export interface IdentityKeys {
  /** Self-certifying node id derived from `signPublic`. */
  readonly id: string;
  readonly signPublic: Uint8Array;
  readonly signSecret: Uint8Array;
  readonly agreePublic: Uint8Array;
  readonly agreeSecret: Uint8Array;
}

/** Builds identity keys from the two 32-byte secrets. */
export function identityFromSecrets(signSecret: Uint8Array, agreeSecret: Uint8Array): IdentityKeys {
  if (signSecret.length !== 32 || agreeSecret.length !== 32) {
    throw new RangeError(
      `Identity secrets must be 32 bytes each, got ${signSecret.length} and ${agreeSecret.length}`,
    );
  }
  const signPublic = signPublicKey(signSecret);
  return {
    id: nodeIdOf(signPublic),
    signPublic,
    signSecret,
    agreePublic: agreePublicKey(agreeSecret),
    agreeSecret,
  };
}

/** Generates fresh identity keys. */
export function generateIdentity(): IdentityKeys {
  return identityFromSecrets(randomBytes(32), randomBytes(32));
}

/** Signs `payload` with the identity's signing key under `tag`. */
export function signAs(keys: IdentityKeys, tag: string, payload: Uint8Array): Uint8Array {
  return sign(keys.signSecret, tag, payload);
}
