/**
 * Keeping an owner's signed records alive for it: its identity document, catalog root, keep
 * record, revocation set, every folder record the keep record names, its `share` record and the
 * group records and write policies that one names, and the writers' versions of those folders
 * (so readers find what it shares and what writers added, and suppliers check writes, while it
 * is away). Suppliers do this for each customer they serve and scrubbers for each owner they
 * work for, so the records outlive the owner's absence (the node's record keeper republishes
 * them).
 */
import { decodeKeepList } from "../catalog/records.ts";
import { decodeShareList } from "../sharing/share_record.ts";
import { parseRecordKey, type RecordKey, recordKeyOf } from "../records/record.ts";
import type { MoteNode } from "../node/node.ts";
import { utf8 } from "../encoding/bytes.ts";
import { nodeIdOf } from "../identity/node_id.ts";
import { policyOfRecord, WPOLICY_NS, writtenKey } from "../sharing/write_records.ts";

/** Looks up and keeps `owner`'s records; returns how many were newly kept or updated. */
export async function keepOwnerRecords(node: MoteNode, owner: string): Promise<number> {
  let kept = 0;
  const keep = async (key: RecordKey, timeout = 10_000) => {
    const r = await node.resolve(key, { timeout }).catch(() => undefined);
    if (r && await node.keeper.keep(key, r.bytes, false).catch(() => false)) kept++;
    return r;
  };
  // Most owners never hire a scrubber and have no revocation set: a lookup of a key nobody holds
  // runs to its timeout, so that one gets a short one.
  const [, , list, , shares] = await Promise.all([
    keep(recordKeyOf("id", owner)),
    keep(recordKeyOf("root", owner)),
    keep(recordKeyOf("keep", owner)),
    keep(recordKeyOf("revoked", owner), 3_000),
    keep(recordKeyOf("share", owner), 3_000),
  ]);
  if (shares) {
    try {
      const list = decodeShareList(shares.record.value);
      // Group records, and the write policies of folders shared for writing (a writer's
      // suppliers check against them while the owner is away).
      const keys: RecordKey[] = [
        ...list.groups.map((hash) => ({ ns: "group", hash })),
        ...list.entries.filter((e) => e.write).map((e) =>
          recordKeyOf(
            WPOLICY_NS,
            owner,
            utf8(recordKeyOf("folder", nodeIdOf(e.grant.object)).hash),
          )
        ),
      ];
      for (let i = 0; i < keys.length; i += 16) {
        await Promise.all(
          keys.slice(i, i + 16).map(async (k) => {
            const r = await keep(k);
            // And the writers' version of a policy's folder: writers' files not merged yet stay
            // visible to readers while the owner and the writers are away.
            if (k.ns === WPOLICY_NS && r) {
              const policy = policyOfRecord(r.record);
              await keep(writtenKey(policy), 3_000);
            }
          }),
        );
      }
    } catch (e) {
      node.log.debug("unreadable share record", { owner, error: e });
    }
  }
  if (!list) return kept;
  try {
    const folders = decodeKeepList(list.record.value).records.map(parseRecordKey);
    for (let i = 0; i < folders.length; i += 16) {
      await Promise.all(folders.slice(i, i + 16).map((k) => keep(k)));
    }
  } catch (e) {
    node.log.debug("unreadable keep list", { owner, error: e });
  }
  return kept;
}
