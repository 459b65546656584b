/**
 * The node API's sharing backend (`gateway/share_api.ts`) over the owner's
 * {@linkcode SharingService} and the {@linkcode SharedReader} of others' shares.
 */
import type { SharingBackend } from "../../gateway/share_api.ts";
import { splitPath } from "../catalog/folder.ts";
import type { SharedReader } from "./shared_reader.ts";
import { SharedWriter } from "./shared_writer.ts";
import { NotReadyError } from "./storage.ts";
import { parseTarget, type SharingService } from "./sharing.ts";

/** Builds the sharing backend. */
export function sharingBackend(sharing: SharingService, reader: SharedReader): SharingBackend {
  const writer = new SharedWriter(reader.node, reader);
  return {
    listLong: (path) => sharing.listLong(path),
    chmod: (path, mode, opts) => sharing.chmod(path, mode, opts),
    chgrp: (path, group) => sharing.chgrp(path, group),
    groups: async () => ({
      // A node whose storage is not ready yet has no catalog to read its groups from, but it
      // can still say which groups it was found in.
      owned: await sharing.groups().catch((e) => {
        if (e instanceof NotReadyError) return null;
        throw e;
      }),
      memberOf: reader.memberships(),
    }),
    createGroup: (name) => sharing.createGroup(name),
    addMember: (name, id) => sharing.addMember(name, id),
    removeMember: (name, id) => sharing.removeMember(name, id),
    shares: () => sharing.shares(),
    share: (path, target, revoke, opts) =>
      sharing.share(path, parseTarget(target), { revoke, ...opts }),
    sharedList: (owner, path, signal) => reader.list(owner, splitPath(path), signal),
    sharedGet: (owner, path, signal) => reader.get(owner, splitPath(path), signal),
    sharedPut: (owner, path, body, size, opts) =>
      writer.put(owner, splitPath(path), body, size, opts),
  };
}
