/**
 * Loading or creating a node's two keys: the identity key (who the user is; the key file is the
 * one backup that matters) and the device's own libp2p key (so one identity can run on two
 * machines with two peer ids).
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { fromUtf8, utf8 } from "../encoding/bytes.ts";
import {
  exportKeyFile,
  generateIdentity,
  type IdentityKeys,
  importKeyFile,
} from "../identity/mod.ts";
import type { NodeState } from "./state.ts";

/** File name of the identity key inside the node state. */
export const IDENTITY_FILE = "identity.key";
/** File name of the device's libp2p key. */
export const DEVICE_FILE = "device.key";

/** Loads the identity key, creating and saving a new one on first start. */
export async function loadOrCreateIdentity(
  state: NodeState,
): Promise<{ keys: IdentityKeys; created: boolean }> {
  const bytes = await state.read(IDENTITY_FILE);
  if (bytes) return { keys: await importKeyFile(fromUtf8(bytes)), created: false };
  const keys = generateIdentity();
  await saveIdentity(state, keys);
  return { keys, created: true };
}

/** Saves identity keys (unsealed, owner-only). */
export async function saveIdentity(state: NodeState, keys: IdentityKeys): Promise<void> {
  await state.write(IDENTITY_FILE, utf8(await exportKeyFile(keys)), { secret: true });
}

/** Loads the device's libp2p key, creating one on first start. */
export async function loadOrCreateDeviceKey(state: NodeState): Promise<PrivateKey> {
  const bytes = await state.read(DEVICE_FILE);
  if (bytes) return privateKeyFromProtobuf(bytes);
  const key = await generateKeyPair("Ed25519");
  await state.write(DEVICE_FILE, privateKeyToProtobuf(key), { secret: true });
  return key;
}
