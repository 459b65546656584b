/**
 * The identity key file: the one thing a user must back up. It holds both identity secrets,
 * either in the clear (protected by file permissions) or sealed with a passphrase stretched by
 * scrypt (N=2^16, r=8, p=1: ~64 MiB and well under a second here) and AES-256-GCM.
 *
 * The file is ASCII armour around canonical CBOR so it survives copy and paste.
 */
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { randomBytes, taggedHash } from "../crypto/hash.ts";
import { decodeCanonical, encode } from "../encoding/cbor.ts";
import { equals, fromBase64, toBase64, utf8 } from "../encoding/bytes.ts";
import { DecodeError } from "../encoding/errors.ts";
import { readBytes, readMap, readString, readUint } from "../encoding/shape.ts";
import { identityFromSecrets, type IdentityKeys } from "./keys.ts";

const BEGIN = "-----BEGIN MOTE IDENTITY KEY-----";
const END = "-----END MOTE IDENTITY KEY-----";
const KIND_PLAIN = "mote-identity-key";
const KIND_SEALED = "mote-identity-key-sealed";
const SCRYPT = { N: 1 << 16, r: 8, p: 1 };
const MAX_FILE = 4096;

/** Raised when a key file is sealed and no (or the wrong) passphrase was given. */
export class PassphraseError extends Error {
  override name = "PassphraseError";
}

/** Serialises identity keys as key-file text, sealed when a passphrase is given. */
export async function exportKeyFile(keys: IdentityKeys, passphrase?: string): Promise<string> {
  const secrets = encode({ sign: keys.signSecret, agree: keys.agreeSecret });
  let body: Uint8Array;
  if (passphrase === undefined) {
    body = encode({
      v: 1,
      kind: KIND_PLAIN,
      id: keys.id,
      sign: keys.signSecret,
      agree: keys.agreeSecret,
      check: secretsCheck(keys),
    });
  } else {
    if (passphrase.length < 8) throw new RangeError("A passphrase must be at least 8 characters");
    const salt = randomBytes(16), nonce = randomBytes(12);
    const aes = await deriveKey(passphrase, salt, SCRYPT);
    const ct = new Uint8Array(
      await crypto.subtle.encrypt(
        {
          name: "AES-GCM",
          iv: nonce as Uint8Array<ArrayBuffer>,
          additionalData: utf8(KIND_SEALED + keys.id) as Uint8Array<ArrayBuffer>,
        },
        aes,
        secrets as Uint8Array<ArrayBuffer>,
      ),
    );
    body = encode({ v: 1, kind: KIND_SEALED, id: keys.id, ...SCRYPT, salt, nonce, ct });
  }
  const b64 = toBase64(body).replace(/.{1,64}/g, "$&\n");
  return `${BEGIN}\n${b64}${END}\n`;
}

/** Whether key-file text is sealed with a passphrase. */
export function isSealed(text: string): boolean {
  return readFields(text).kind === KIND_SEALED;
}

/** Parses key-file text back into identity keys, checking the stored id matches the keys. */
export async function importKeyFile(text: string, passphrase?: string): Promise<IdentityKeys> {
  const m = readFields(text);
  const id = readString(m, "id", "key file", 52);
  let keys: IdentityKeys;
  if (m.kind === KIND_PLAIN) {
    readMap(m, "key file", ["v", "kind", "id", "sign", "agree", "check"]);
    keys = identityFromSecrets(
      readBytes(m, "sign", "key file", { exact: 32 }),
      readBytes(m, "agree", "key file", { exact: 32 }),
    );
    // A checksum over both secrets catches any damage, even to bits X25519 would ignore.
    if (!equals(secretsCheck(keys), readBytes(m, "check", "key file", { exact: 16 }))) {
      throw new DecodeError("Invalid key file: its checksum does not match (the file is damaged)");
    }
  } else {
    readMap(m, "key file", ["v", "kind", "id", "N", "r", "p", "salt", "nonce", "ct"]);
    if (passphrase === undefined) {
      throw new PassphraseError(
        "This key file is sealed with a passphrase: give --passphrase-file",
      );
    }
    const params = {
      N: readUint(m, "N", "key file"),
      r: readUint(m, "r", "key file"),
      p: readUint(m, "p", "key file"),
    };
    const powerOfTwo = params.N >= 2 && (params.N & (params.N - 1)) === 0;
    if (
      !powerOfTwo || params.N > 1 << 20 || params.r < 1 || params.r > 32 || params.p < 1 ||
      params.p > 16
    ) {
      throw new DecodeError(
        `Invalid key file: scrypt parameters N=${params.N} r=${params.r} p=${params.p} are out of range`,
      );
    }
    const aes = await deriveKey(
      passphrase,
      readBytes(m, "salt", "key file", { exact: 16 }),
      params,
    );
    let plain: Uint8Array;
    try {
      plain = new Uint8Array(
        await crypto.subtle.decrypt(
          {
            name: "AES-GCM",
            iv: readBytes(m, "nonce", "key file", { exact: 12 }) as Uint8Array<ArrayBuffer>,
            additionalData: utf8(KIND_SEALED + id) as Uint8Array<ArrayBuffer>,
          },
          aes,
          readBytes(m, "ct", "key file", { max: 256 }) as Uint8Array<ArrayBuffer>,
        ),
      );
    } catch {
      throw new PassphraseError("Cannot open the key file: wrong passphrase or damaged file");
    }
    const s = readMap(decodeCanonical(plain, { what: "sealed secrets" }), "sealed secrets", [
      "sign",
      "agree",
    ]);
    keys = identityFromSecrets(
      readBytes(s, "sign", "sealed secrets", { exact: 32 }),
      readBytes(s, "agree", "sealed secrets", { exact: 32 }),
    );
  }
  if (keys.id !== id) {
    throw new DecodeError(`Invalid key file: it claims id ${id} but its keys belong to ${keys.id}`);
  }
  return keys;
}

function readFields(text: string) {
  if (text.length > MAX_FILE) {
    throw new DecodeError(`Invalid key file: ${text.length} characters, limit ${MAX_FILE}`);
  }
  const start = text.indexOf(BEGIN), end = text.indexOf(END);
  if (start < 0 || end < start) {
    throw new DecodeError("Invalid key file: no MOTE IDENTITY KEY block found");
  }
  let bytes: Uint8Array;
  try {
    const b64 = text.slice(start + BEGIN.length, end).replace(/\s+/g, "");
    bytes = fromBase64(b64);
    // atob ignores stray bits in the last character; accept only the one canonical spelling.
    if (toBase64(bytes) !== b64) throw new SyntaxError("not canonical base64");
  } catch (e) {
    throw new DecodeError(`Invalid key file: ${(e as Error).message}`);
  }
  const m = readMap(decodeCanonical(bytes, { what: "key file", maxBytes: MAX_FILE }), "key file", [
    "v",
    "kind",
  ], [
    "id",
    "sign",
    "agree",
    "check",
    "N",
    "r",
    "p",
    "salt",
    "nonce",
    "ct",
  ]);
  if (m.v !== 1) throw new DecodeError(`Invalid key file: unsupported version ${String(m.v)}`);
  if (m.kind !== KIND_PLAIN && m.kind !== KIND_SEALED) {
    throw new DecodeError(`Invalid key file: unknown kind ${String(m.kind)}`);
  }
  return m;
}

async function deriveKey(
  passphrase: string,
  salt: Uint8Array,
  p: { N: number; r: number; p: number },
) {
  const raw = await scryptAsync(utf8(passphrase.normalize("NFKC")), salt, {
    ...p,
    dkLen: 32,
    maxmem: 2 ** 28,
  });
  return crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

function secretsCheck(keys: IdentityKeys): Uint8Array {
  return taggedHash("mote/key-file-check/v1", keys.signSecret, keys.agreeSecret).slice(0, 16);
}
