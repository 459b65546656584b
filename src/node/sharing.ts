/**
 * The owner's side of sharing on a running node (issue 8, docs/sharing.md): `chmod`, `chgrp`,
 * groups (`group` records), read shares (the `share` record) and revocation, over the catalog.
 *
 * The private state (groups, and per shared path its readers and groups) is the catalog file
 * `/.sharing/state` (`sharing/owner_state.ts`). After every change the public `share` record is
 * rebuilt from it and from the catalog: for each shared path, a read grant for its readers, its
 * groups, the path's group when the mode gives the group read (`g+r`), and everyone when it
 * gives others read (`o+r`, the key itself is published). Whenever a change leaves someone who
 * could read a path unable to (a revoke, `chmod` taking r away, `chgrp`, a member removed from a
 * group), the path's key is rotated first: a folder and every folder under it get fresh read
 * keys (`catalog/permissions.ts`), a file share a fresh key; the grants are then wrapped for
 * whoever remains. Data keys of file versions already stored cannot be taken back.
 *
 * "Others: write" (`chmod o+w` on a folder, which needs `o+r` too) publishes the folder's write
 * secret in its write grant, next to its named writers and groups, under a byte cap per supplier
 * (`--cap`, {@linkcode OTHERS_WRITE_CAP} by default: one write key, so one cap for every writer of
 * the folder). Taking o+w away rotates the write key. Writers, named or not, publish the one
 * writers' version of the folder (`wver`, signed with the write key), so the owner's node merges
 * strangers' files as it merges named writers'.
 *
 * Operations run one at a time (one lock), and the state is cached after the first read.
 */
import { NotFoundError } from "../catalog/catalog.ts";
import { type FileVersion, splitPath } from "../catalog/folder.ts";
import {
  type FolderEntry,
  listLong,
  type LongListing,
  type PathInfo,
  rekeyFolder,
  setPermissions,
  stat,
} from "../catalog/permissions.ts";
import { seal } from "../catalog/seal.ts";
import { randomBytes } from "../crypto/hash.ts";
import { concat, utf8 } from "../encoding/bytes.ts";
import { encode } from "../encoding/cbor.ts";
import { isNodeId } from "../identity/node_id.ts";
import { formatRecordKey, recordKeyOf } from "../records/record.ts";
import { createGrant, type GroupKey } from "../sharing/grants.ts";
import { addMember, createGroup, removeMember, unwrapGroupKey } from "../sharing/group.ts";
import {
  assertGroupName,
  decodeGroup,
  encodeGroup,
  type Group,
  groupRef,
} from "../sharing/group_record.ts";
import { canRead, canWrite, parseMode } from "../sharing/mode.ts";
import {
  decodeOwnerState,
  EMPTY_STATE,
  encodeOwnerState,
  MAX_KNOWN,
  MAX_MERGED,
  type OwnerShare,
  type OwnerState,
  type Reader,
  type WriteShare,
} from "../sharing/owner_state.ts";
import {
  encodeShareList,
  FILE_BOX_PURPOSE,
  LABEL_PURPOSE,
  type ShareEntry,
} from "../sharing/share_record.ts";
import { SharingError } from "../sharing/errors.ts";
import type { StorageService } from "./storage.ts";
import { mergeWrites, nextWriteKey, publishPolicy } from "./write_sharing.ts";
import { handleWriteHints } from "./write_hint.ts";
import type { GroupRow, ShareRow } from "../sharing/rows.ts";

/** Where the owner's sharing state lives in its catalog. */
export const SHARING_FOLDER = ".sharing";
const STATE_PATH = `/${SHARING_FOLDER}/state`;
/** How often the owner's node merges writers' files into folders shared for writing (ms). */
const MERGE_EVERY = 30_000;
/**
 * The byte cap per supplier when a folder's mode newly gives others write (`chmod o+w`) and no
 * `--cap` is given: 64 MiB. Modest on purpose: anyone may write under it, and it counts against
 * the owner's contracts. "Others: write" is never uncapped.
 */
export const OTHERS_WRITE_CAP = 64 << 20;

/** What `chmod` did. */
export interface ChmodResult {
  path: string;
  mode: number;
  group: string | null;
  /** Others may write (the folder's write secret is published) under this cap per supplier. */
  othersWrite?: { cap: number };
  /** Others could write before and no longer can: the write key was rotated. */
  writeRotated?: boolean;
}

/** A shared path as `shares()` answers it: the row, and for folders shared for writing the cap. */
export type ShareRowOut = ShareRow & { othersWrite?: boolean; cap?: number };

/** Whom a share names: a node, or one of the owner's groups. */
export type ShareTarget = { reader: string } | { group: string };

/** Parses `<node-id>` or `group:<name>`. Throws `SyntaxError`. */
export function parseTarget(text: string): ShareTarget {
  if (typeof text === "string" && text.startsWith("group:")) {
    return { group: assertGroupName(text.slice(6)) };
  }
  if (typeof text === "string" && isNodeId(text)) return { reader: text };
  throw new SyntaxError(
    `Share with a node id (52 base32 characters) or group:<name>, not "${
      String(text).slice(0, 60)
    }"; for everyone, use chmod o+r`,
  );
}

export type { GroupRow, ShareRow };

/** The owner's sharing operations. */
export class SharingService {
  readonly #storage: StorageService;
  #lock: Promise<unknown> = Promise.resolve();
  #state?: OwnerState;
  #stop = new AbortController();
  #refreshDue?: ReturnType<typeof setTimeout>;
  #mergeTimer?: ReturnType<typeof setInterval>;

  constructor(storage: StorageService) {
    this.#storage = storage;
  }

  get #node() {
    return this.#storage.node;
  }

  /**
   * Watches uploads and removals through the node API: when a shared file gets a new version, or
   * a shared path is removed, the share record is rebuilt (within a second) so readers get the
   * new version, and a removed path is no longer listed.
   */
  start(): void {
    // Writers' files come in through each folder's writers' version: merged a while after
    // start, then every `MERGE_EVERY` (and before any write key is rotated).
    const merge = async () => {
      // Nothing to do until a folder is shared for writing (a node whose storage is not ready
      // has no state to read yet: it tries again next time).
      const state = this.#state ?? await this.#load().catch(() => undefined);
      if (!state?.shares.some((s) => s.write)) return;
      await this.mergeWrites().catch((e) =>
        this.#node.log.warn("could not merge writes", { error: e })
      );
    };
    this.#mergeTimer = setInterval(merge, MERGE_EVERY);
    // A writer's hint makes an online owner merge within a second or so.
    handleWriteHints(this.#node, merge).then((stop) => {
      if (this.#stop.signal.aborted) stop();
      else this.#stop.signal.addEventListener("abort", stop, { once: true });
    }).catch((e) => this.#node.log.warn("could not take write hints", { error: e }));
    const sub = this.#node.events.subscribe({ maxQueue: 1024, signal: this.#stop.signal });
    (async () => {
      for await (const e of sub) {
        if ((e.type !== "put:done" && e.type !== "remove:done") || !this.#state) continue;
        const path = String(e.data.path ?? "");
        if (!this.#state.shares.some((s) => s.path === path)) continue;
        clearTimeout(this.#refreshDue);
        this.#refreshDue = setTimeout(() => {
          this.refresh().catch((err) =>
            this.#node.log.warn("could not refresh the share record", { error: err })
          );
        }, 1000);
      }
    })().catch(() => {});
  }

  /** Stops watching uploads. */
  stop(): void {
    this.#stop.abort();
    clearInterval(this.#mergeTimer);
    clearTimeout(this.#refreshDue);
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(f, f);
    this.#lock = run.catch(() => {});
    return run;
  }

  async #catalog() {
    return await this.#storage.catalog();
  }

  async #load(): Promise<OwnerState> {
    if (this.#state) return this.#state;
    const catalog = await this.#catalog();
    try {
      const { stream } = await catalog.get(STATE_PATH);
      this.#state = decodeOwnerState(await new Response(stream).bytes());
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      this.#state = EMPTY_STATE;
    }
    return this.#state;
  }

  async #save(s: OwnerState): Promise<void> {
    const catalog = await this.#catalog();
    const bytes = encodeOwnerState(s);
    await catalog.put(STATE_PATH, once(bytes), bytes.length);
    // Older versions hold keys of shares since rotated. They are as private as the rest of the
    // catalog (`/.sharing` is never shared), so they are dropped in batches rather than costing a
    // second folder update on every change.
    if ((await catalog.versions(STATE_PATH)).length > 8) await catalog.prune(STATE_PATH, 1);
    this.#state = s;
  }

  // ---- modes ----

  /** The long listing of a folder (`ls -l`). */
  async listLong(path: string): Promise<LongListing[]> {
    return await listLong((await this.#catalog()).permissionHost(), splitPath(path));
  }

  /**
   * `chmod`: octal or symbolic (applied to the current mode). A mode giving others write (o+w) is
   * for folders that others may read too; it publishes the folder's write secret under a byte
   * cap per supplier (`cap`, {@linkcode OTHERS_WRITE_CAP} when newly given without one). Taking
   * o+w away rotates the write key.
   */
  chmod(path: string, mode: string, opts: { cap?: number } = {}): Promise<ChmodResult> {
    const parts = checkPath(path, true);
    parseMode(mode, 0); // a malformed mode is refused before anything is read
    const { cap } = opts;
    if (cap !== undefined && (!Number.isSafeInteger(cap) || cap <= 0)) {
      throw new RangeError(`A write cap is a positive number of bytes, got ${cap}`);
    }
    return this.#serial(async () => {
      const host = (await this.#catalog()).permissionHost();
      const p = "/" + parts.join("/");
      const info = parts.length ? await this.#stat(parts) : undefined;
      const before = await this.#effective(parts);
      const check = (next: number) => {
        if (canWrite(next, "other")) {
          if (parts.length === 0) {
            throw new RangeError(
              "Others may write to a folder under the root, not the root itself",
            );
          }
          if (info?.type !== "folder") {
            throw new RangeError(
              `Others may write only to folders (writers put files into a folder): ${p} is a ` +
                `file; give o+w to the folder it is in`,
            );
          }
          if (!canRead(next, "other")) {
            throw new RangeError(
              `o+w without o+r would make ${p} a drop box (write without read), which is not ` +
                `built: writers must read the folder to add to it. Give o+r too (chmod o+rw)`,
            );
          }
        } else if (cap !== undefined) {
          throw new RangeError("--cap goes with a mode that gives others write (o+w)");
        }
        return next;
      };
      const r = await setPermissions(host, parts, { mode: (cur) => check(parseMode(mode, cur)) });
      const state = await this.#load();
      const cur = state.shares.find((s) => s.path === p);
      const folder = info?.folder;
      const had = !!info && canWrite(info.mode, "other") && !!cur?.write;
      const has = canWrite(r.mode, "other");
      let next = cur;
      if (folder && has) {
        const share = cur ?? newShare(p, info!);
        const want = cap ?? (had ? share.write!.cap : OTHERS_WRITE_CAP);
        next = await this.#othersWrite(share, parts, folder, want);
      } else if (folder && had) {
        // Everyone held the write secret: a new key for the named writers only.
        next = await this.#rotateWrite(cur!, parts, folder);
      }
      const pending = next === cur ? undefined : {
        ...state,
        shares: [...state.shares.filter((s) => s.path !== p), next!],
      };
      await this.#reconcile(parts, before, pending);
      return {
        path: p,
        ...r,
        ...(folder && has ? { othersWrite: { cap: next!.write!.cap } } : {}),
        ...(folder && had && !has ? { writeRotated: true } : {}),
      };
    });
  }

  /**
   * Gives others write on a folder share under `cap`: a first write key, or a new one when the
   * cap changes (a cap is part of the signed policy, so a new policy; writes under the old key
   * are merged first).
   */
  async #othersWrite(
    s: OwnerShare,
    parts: string[],
    folder: FolderEntry,
    cap: number,
  ): Promise<OwnerShare> {
    const w = s.write;
    if (w && w.cap === cap) return s;
    let next: WriteShare;
    if (!w) next = nextWriteKey(undefined, cap);
    else {
      await this.#mergeOne(s, parts, folder).catch((e) =>
        this.#node.log.warn("could not merge writes before rotating", { path: s.path, error: e })
      );
      next = nextWriteKey(w, cap);
    }
    await publishPolicy(this.#node, folder.writePub, next, this.#storage);
    return { ...s, write: next };
  }

  /** `chgrp`: one of the owner's groups, or null for none. */
  chgrp(
    path: string,
    group: string | null,
  ): Promise<{ path: string; mode: number; group: string | null }> {
    const parts = checkPath(path, true);
    if (group !== null) assertGroupName(group);
    return this.#serial(async () => {
      const state = await this.#load();
      if (group !== null && !state.groups.includes(group)) {
        throw new NotFoundError(`You have no group "${group}": create it with mote group create`);
      }
      const host = (await this.#catalog()).permissionHost();
      const before = await this.#effective(parts);
      const r = await setPermissions(host, parts, { group });
      await this.#reconcile(parts, before);
      return { path: "/" + parts.join("/"), ...r };
    });
  }

  // ---- groups ----

  /** The owner's groups. */
  async groups(): Promise<GroupRow[]> {
    const state = await this.#load();
    const rows: GroupRow[] = [];
    for (const name of state.groups) {
      const g = await this.#ownGroup(name).catch(() => undefined);
      if (g) rows.push({ name, owner: g.owner, epoch: g.epoch, members: [...g.members] });
    }
    return rows;
  }

  /** Creates a group (the owner its first member) and publishes its record. */
  createGroup(name: string): Promise<GroupRow> {
    assertGroupName(name);
    return this.#serial(async () => {
      const state = await this.#load();
      if (state.groups.includes(name)) throw new RangeError(`You already have a group "${name}"`);
      const g = await createGroup(this.#node.keys, name);
      await this.#publishGroup(g);
      const next = { ...state, groups: [...state.groups, name].sort() };
      await this.#save(next);
      await this.#publishShares(next);
      return { name, owner: g.owner, epoch: g.epoch, members: [...g.members] };
    });
  }

  /** Adds a member: the group key of the current epoch is wrapped to its X25519 key. */
  addMember(name: string, id: string): Promise<GroupRow> {
    assertGroupName(name);
    return this.#serial(async () => {
      await this.#mustOwn(name);
      const g = await this.#ownGroup(name);
      const agree = await this.#agreeKey(id);
      const next = await addMember(this.#node.keys, g, { id, agreePublic: agree });
      await this.#publishGroup(next);
      const state = await this.#load();
      const known = [{ id, agree }, ...(state.known ?? []).filter((r) => r.id !== id)];
      await this.#save({ ...state, known: known.slice(0, MAX_KNOWN) });
      return { name, owner: next.owner, epoch: next.epoch, members: [...next.members] };
    });
  }

  /**
   * Removes a member: a new epoch with a fresh group key for the others, and every path the
   * group could read is re-keyed and its grants wrapped again, so the removed member opens
   * nothing published after.
   */
  removeMember(name: string, id: string): Promise<GroupRow> {
    assertGroupName(name);
    return this.#serial(async () => {
      await this.#mustOwn(name);
      const g = await this.#ownGroup(name);
      const keys = new Map<string, Uint8Array>();
      for (const m of g.members) {
        if (m !== id && m !== g.owner) keys.set(m, await this.#agreeKey(m));
      }
      const next = await removeMember(this.#node.keys, g, id, keys);
      await this.#publishGroup(next);
      const state = await this.#load();
      const shares = [...state.shares];
      for (const [i, s] of shares.entries()) {
        const parts = splitPath(s.path);
        const info = await this.#stat(parts);
        if (info && this.#recipients(s, info).has(`g:${name}`)) {
          shares[i] = await this.#rotate(s, parts);
        }
        if (info?.folder && s.write?.groups.includes(name)) {
          // The removed member held the write key through the group: a new key, whose grant
          // goes to the group's new epoch only.
          shares[i] = await this.#rotateWrite(shares[i]!, parts, info.folder);
        }
      }
      const after = { ...state, shares };
      await this.#save(after);
      await this.#publishShares(after);
      return { name, owner: next.owner, epoch: next.epoch, members: [...next.members] };
    });
  }

  async #mustOwn(name: string): Promise<void> {
    if (!(await this.#load()).groups.includes(name)) {
      throw new NotFoundError(`You have no group "${name}"`);
    }
  }

  async #ownGroup(name: string): Promise<Group> {
    const key = recordKeyOf("group", this.#node.id, utf8(name));
    // This node signs its groups and keeps every version it publishes: its kept copy is the
    // newest (a DHT lookup that finds only this node's own copy waits for its whole timeout).
    const ks = formatRecordKey(key);
    const kept = this.#node.keeper.get(ks);
    if (kept) return decodeGroup(this.#node.validator.check(ks, kept).value);
    const r = await this.#node.resolve(key, { timeout: 10_000 });
    if (!r) throw new NotFoundError(`The record of group "${name}" could not be found`);
    return decodeGroup(r.record.value);
  }

  async #publishGroup(g: Group): Promise<void> {
    await this.#node.publish("group", utf8(g.name), encodeGroup(g));
  }

  /** A node's X25519 key, from its identity document in the DHT. */
  async #agreeKey(id: string): Promise<Uint8Array> {
    if (!isNodeId(id)) throw new SyntaxError(`"${id.slice(0, 60)}" is not a node id`);
    if (id === this.#node.id) return this.#node.keys.agreePublic;
    const known = (await this.#load()).known?.find((r) => r.id === id);
    if (known) return known.agree;
    const r = await this.#node.resolveIdentity(id, { timeout: 10_000 });
    if (!r) {
      throw new SharingError(
        "unknown-id",
        `No identity document was found for ${id}: check the id (the node must have been online once)`,
      );
    }
    return r.doc.agree;
  }

  // ---- shares ----

  /** What the owner shares, with whom (modes included). */
  async shares(): Promise<ShareRowOut[]> {
    const state = await this.#load();
    const rows: ShareRowOut[] = [];
    for (const s of state.shares) {
      const info = await this.#stat(splitPath(s.path));
      if (!info) continue;
      const r = this.#recipients(s, info);
      rows.push({
        path: s.path,
        kind: s.kind === "d" ? "folder" : "file",
        readers: [...r].filter((x) => x.startsWith("r:")).map((x) => x.slice(2)),
        groups: [...r].filter((x) => x.startsWith("g:")).map((x) => x.slice(2)),
        public: r.has("public"),
        ...(s.write
          ? {
            writers: s.write.writers.map((w) => w.id),
            writeGroups: [...s.write.groups],
            cap: s.write.cap,
            ...(this.#othersMayWrite(s, info) ? { othersWrite: true } : {}),
          }
          : {}),
      });
    }
    return rows;
  }

  /**
   * `share <path> --with <id|group:name> --read|--write [--revoke]`. `--write` (folders only)
   * also gives read; revoking write keeps read and rotates the folder's write key; revoking read
   * takes write too. `cap`: bytes each supplier accepts under the write key.
   */
  share(
    path: string,
    target: ShareTarget,
    opts: { revoke?: boolean; write?: boolean; cap?: number } = {},
  ): Promise<ShareRowOut> {
    const parts = checkPath(path, false);
    return this.#serial(async () => {
      const state = await this.#load();
      if ("group" in target && !state.groups.includes(target.group)) {
        throw new NotFoundError(`You have no group "${target.group}"`);
      }
      const info = await this.#stat(parts);
      if (!info) throw new NotFoundError(`Nothing at /${parts.join("/")}`);
      const p = "/" + parts.join("/");
      const before = await this.#effective(parts);
      const cur = state.shares.find((s) => s.path === p) ?? newShare(p, info);
      if (opts.write || cur.write) {
        if (!info.folder) {
          throw new RangeError(`Write sharing is for folders: share the folder ${p} is in`);
        }
        const w = await this.#writeChange(cur, target, opts, parts, info.folder);
        if (w) {
          const others = state.shares.filter((s) => s.path !== p);
          const s2 = { ...state, shares: [...others, w] };
          if (opts.write) {
            await this.#reconcile(parts, before, s2);
            return (await this.shares()).find((r) => r.path === p)!;
          }
          return await this.#readChange(s2, parts, p, info, w, target, opts, before);
        }
      }
      return await this.#readChange(state, parts, p, info, cur, target, opts, before);
    });
  }

  /**
   * The write side of a `share` change. Returns the share's next state, or undefined when the
   * write side does not change (a read change on a folder nobody writes to).
   */
  async #writeChange(
    cur: OwnerShare,
    target: ShareTarget,
    opts: { revoke?: boolean; write?: boolean; cap?: number },
    parts: string[],
    folder: FolderEntry,
  ): Promise<OwnerShare | undefined> {
    const w = cur.write;
    const writes = (x: WriteShare | undefined) =>
      "reader" in target
        ? !!x?.writers.some((r) => r.id === target.reader)
        : !!x?.groups.includes(target.group);
    if (opts.revoke) {
      if (!writes(w)) {
        if (opts.write) throw new RangeError(`${cur.path} is not writable by that id or group`);
        return undefined;
      }
      const left: WriteShare = "reader" in target
        ? { ...w!, writers: w!.writers.filter((r) => r.id !== target.reader) }
        : { ...w!, groups: w!.groups.filter((g) => g !== target.group) };
      return await this.#rotateWrite({ ...cur, write: left }, parts, folder);
    }
    if (!opts.write) return undefined;
    let next: WriteShare = w ?? nextWriteKey(undefined, opts.cap);
    if ("reader" in target) {
      if (target.reader === this.#node.id) throw new RangeError("You can always write your own");
      const r: Reader = { id: target.reader, agree: await this.#agreeKey(target.reader) };
      next = { ...next, writers: [...next.writers.filter((x) => x.id !== r.id), r] };
    } else next = { ...next, groups: [...new Set([...next.groups, target.group])].sort() };
    if (opts.cap !== undefined && w && opts.cap !== w.cap) {
      // A new cap is a new policy, so a new key: writes under the old one are merged first.
      await this.#mergeOne(cur, parts, folder).catch((e) =>
        this.#node.log.warn("could not merge writes before rotating", { path: cur.path, error: e })
      );
      next = { ...nextWriteKey(next, opts.cap), writers: next.writers, groups: next.groups };
    }
    if (!w || next.seq !== w.seq) {
      await publishPolicy(this.#node, folder.writePub, next, this.#storage);
    }
    // A write grant implies read: the writer is added to the folder's readers too.
    const withRead = "reader" in target
      ? {
        ...cur,
        readers: [
          ...cur.readers.filter((r) => r.id !== target.reader),
          next.writers.find((r) => r.id === target.reader)!,
        ],
      }
      : { ...cur, groups: [...new Set([...cur.groups, target.group])].sort() };
    return { ...withRead, write: next };
  }

  /**
   * A new write key for a share (its writers revoked or changed): writes made under the old one
   * are merged first, then the policy goes to `seq + 1` and is published.
   */
  async #rotateWrite(s: OwnerShare, parts: string[], folder: FolderEntry): Promise<OwnerShare> {
    if (!s.write) return s;
    await this.#mergeOne(s, parts, folder).catch((e) =>
      this.#node.log.warn("could not merge writes before rotating", { path: s.path, error: e })
    );
    // The new key starts with no merged marks: a writers' version under the old key no longer counts.
    const next = nextWriteKey(s.write);
    await publishPolicy(this.#node, folder.writePub, next, this.#storage);
    return { ...s, write: next };
  }

  /** Merges writers' files into every folder shared for writing; returns versions added. */
  mergeWrites(): Promise<number> {
    return this.#serial(async () => {
      const state = await this.#load();
      let added = 0;
      const shares = [...state.shares];
      for (const [i, s] of shares.entries()) {
        if (!s.write) continue;
        const parts = splitPath(s.path);
        const info = await this.#stat(parts);
        if (!info?.folder) continue;
        const marks = await this.#mergeOne(s, parts, info.folder);
        if (marks.length === 0) continue;
        added += marks.length;
        const merged = [...(s.write.merged ?? []), ...marks].slice(-MAX_MERGED);
        shares[i] = { ...s, write: { ...s.write, merged } };
      }
      if (added > 0) {
        const next = { ...state, shares };
        await this.#save(next);
        // A file shared on its own carries its newest version in the record: a writer may just
        // have replaced it.
        if (shares.some((s) => s.kind === "f")) await this.#publishShares(next);
      }
      return added;
    });
  }

  async #mergeOne(s: OwnerShare, parts: string[], folder: FolderEntry): Promise<Uint8Array[]> {
    const catalog = await this.#catalog();
    const inUse = async () =>
      new Set((await catalog.keptObjects()).flatMap((o) => o.blocks.flat()));
    return await mergeWrites(this.#node, catalog.permissionHost(), parts, folder, s.write!, inUse);
  }

  /** The read side of a `share` change (as before write sharing). */
  async #readChange(
    state: OwnerState,
    parts: string[],
    p: string,
    info: PathInfo,
    cur: OwnerShare,
    target: ShareTarget,
    opts: { revoke?: boolean },
    before: Set<string>,
  ): Promise<ShareRow> {
    {
      let next: OwnerShare;
      if (opts.revoke) {
        const has = "reader" in target
          ? cur.readers.some((r) => r.id === target.reader)
          : cur.groups.includes(target.group);
        if (!has) {
          const via = "group" in target && info.group === target.group &&
            canRead(info.mode, "group");
          throw new RangeError(
            via
              ? `Group ${target.group} reads ${p} through its mode: use chmod g-r or chgrp`
              : `${p} is not shared with ${"reader" in target ? target.reader : target.group}`,
          );
        }
        next = "reader" in target
          ? { ...cur, readers: cur.readers.filter((r) => r.id !== target.reader) }
          : { ...cur, groups: cur.groups.filter((g) => g !== target.group) };
      } else if ("reader" in target) {
        if (target.reader === this.#node.id) throw new RangeError("You can always read your own");
        const reader: Reader = { id: target.reader, agree: await this.#agreeKey(target.reader) };
        next = { ...cur, readers: [...cur.readers.filter((r) => r.id !== reader.id), reader] };
      } else next = { ...cur, groups: [...new Set([...cur.groups, target.group])].sort() };
      const others = state.shares.filter((s) => s.path !== p);
      await this.#reconcile(parts, before, { ...state, shares: [...others, next] });
      return (await this.shares()).find((r) => r.path === p) ??
        { path: p, kind: info.type, readers: [], groups: [], public: false };
    }
  }

  /**
   * Rebuilds and publishes the share record (after a shared file changed, say). Paths no longer
   * in the catalog (or now of the other kind) leave the state: something stored there later is
   * not shared by an old entry.
   */
  refresh(): Promise<void> {
    return this.#serial(async () => {
      const state = await this.#load();
      const live: OwnerShare[] = [];
      for (const s of state.shares) {
        const info = await this.#stat(splitPath(s.path));
        if (info && (info.type === "folder") === (s.kind === "d")) live.push(s);
      }
      const next = { ...state, shares: live };
      if (live.length !== state.shares.length) await this.#save(next);
      await this.#publishShares(next);
    });
  }

  /** Everyone who may read `parts` now: `r:<id>`, `g:<name>`, `public`. */
  async #effective(parts: string[]): Promise<Set<string>> {
    const info = await this.#stat(parts);
    if (!info) return new Set();
    const p = "/" + parts.join("/");
    const s = (await this.#load()).shares.find((x) => x.path === p);
    return this.#recipients(s, info);
  }

  /** Whether others may write to a share: a folder with a write key whose mode gives o+w (and o+r). */
  #othersMayWrite(s: OwnerShare, info: PathInfo): boolean {
    return s.kind === "d" && !!s.write && info.type === "folder" &&
      canWrite(info.mode, "other") && canRead(info.mode, "other");
  }

  #recipients(s: OwnerShare | undefined, info: PathInfo): Set<string> {
    const out = new Set<string>();
    for (const r of s?.readers ?? []) out.add(`r:${r.id}`);
    for (const g of s?.groups ?? []) out.add(`g:${g}`);
    if (info.group && canRead(info.mode, "group")) out.add(`g:${info.group}`);
    if (canRead(info.mode, "other")) out.add("public");
    return out;
  }

  async #stat(parts: string[]): Promise<PathInfo | undefined> {
    try {
      return await stat((await this.#catalog()).permissionHost(), parts, () => {
        throw new RangeError("The root is not shared");
      });
    } catch (e) {
      if (e instanceof NotFoundError || (e as Error).name === "NotFoundError") return undefined;
      throw e;
    }
  }

  /**
   * After a change to `parts` (its mode, group or share entry, given as `pending`): rotates its
   * key when someone who could read it no longer can, keeps or drops its entry, saves the state
   * and publishes the record.
   */
  async #reconcile(parts: string[], before: Set<string>, pending?: OwnerState): Promise<void> {
    const state = pending ?? await this.#load();
    const p = "/" + parts.join("/");
    const info = parts.length ? await this.#stat(parts) : undefined;
    let shares = [...state.shares];
    if (info) {
      let cur = shares.find((s) => s.path === p) ?? newShare(p, info);
      const after = this.#recipients(cur, info);
      if ([...before].some((x) => !after.has(x))) cur = await this.#rotate(cur, parts);
      // A folder once shared for writing keeps its entry: its write key's sequence must only grow.
      const explicit = cur.readers.length + cur.groups.length > 0 || !!cur.write;
      shares = shares.filter((s) => s.path !== p);
      if (explicit || after.size > 0) shares.push(cur);
    }
    const next = { ...state, shares: shares.sort((a, b) => a.path < b.path ? -1 : 1) };
    await this.#save(next);
    await this.#publishShares(next);
  }

  /** A fresh key for a share: a folder subtree re-keyed, a file share a new key and id. */
  async #rotate(s: OwnerShare, parts: string[]): Promise<OwnerShare> {
    if (s.kind === "f") return { ...s, id: randomBytes(32), key: randomBytes(32) };
    await rekeyFolder((await this.#catalog()).permissionHost(), parts);
    return s;
  }

  /** Builds the `share` record from the state and the catalog and publishes it. */
  async #publishShares(state: OwnerState): Promise<void> {
    const catalog = await this.#catalog();
    const me = this.#node.keys;
    const groupKeys = new Map<string, GroupKey>();
    const groupKey = async (name: string) => {
      let k = groupKeys.get(name);
      if (!k) {
        const g = await this.#ownGroup(name);
        k = {
          group: groupRef(me.id, name),
          epoch: g.epoch,
          key: await unwrapGroupKey(g, me.id, me.agreeSecret),
        };
        groupKeys.set(name, k);
      }
      return k;
    };
    const entries: ShareEntry[] = [];
    for (const s of state.shares) {
      const info = await this.#stat(splitPath(s.path));
      if (!info || (info.type === "folder") !== (s.kind === "d")) continue;
      const who = this.#recipients(s, info);
      if (who.size === 0) continue;
      const readers = s.readers.map((r) => ({ id: r.id, agreePublic: r.agree }));
      const groups = [];
      for (const x of who) if (x.startsWith("g:")) groups.push(await groupKey(x.slice(2)));
      let key: Uint8Array, object: Uint8Array, box: Uint8Array | undefined;
      if (s.kind === "d") {
        const f = info.folder as FolderEntry;
        key = f.readKey;
        object = f.writePub;
      } else {
        key = s.key!;
        object = s.id;
        const newest: FileVersion = (await catalog.versions(s.path))[0]!;
        const group = info.group ? { group: info.group } : {};
        const entry = { t: "f", versions: [newest], mode: info.mode, ...group };
        box = await seal(key, FILE_BOX_PURPOSE, encode(entry));
      }
      const grant = await createGrant({
        purpose: "read",
        object,
        key,
        readers,
        groups,
        public: who.has("public"),
      });
      const w = s.kind === "d" ? s.write : undefined;
      // "Others: write": the write secret itself, capped by the policy (like o+r's read key).
      const others = this.#othersMayWrite(s, info);
      const write = w && (w.writers.length + w.groups.length > 0 || others)
        ? await createGrant({
          purpose: "write",
          object,
          key: w.secret,
          readers: w.writers.map((r) => ({ id: r.id, agreePublic: r.agree })),
          groups: await Promise.all(w.groups.map(groupKey)),
          public: others,
        })
        : undefined;
      entries.push({
        kind: s.kind,
        grant,
        label: await seal(key, LABEL_PURPOSE, utf8(s.path)),
        ...(box ? { box } : {}),
        ...(write ? { write } : {}),
      });
    }
    const groups = state.groups.map((n) => groupRef(me.id, n));
    await this.#node.publish(
      "share",
      new Uint8Array(0),
      encodeShareList({ v: 1, groups, entries }),
    );
  }
}

function newShare(path: string, info: PathInfo): OwnerShare {
  const kind = info.type === "folder" ? "d" : "f";
  return {
    path,
    kind,
    readers: [],
    groups: [],
    id: randomBytes(32),
    ...(kind === "f" ? { key: randomBytes(32) } : {}),
  };
}

/** Checks a path that may carry permissions; the sharing state itself never does. */
function checkPath(path: string, rootOk: boolean): string[] {
  const parts = splitPath(path);
  if (parts[0] === SHARING_FOLDER) {
    throw new RangeError(`/${SHARING_FOLDER} holds the sharing keys: it is never shared`);
  }
  if (!rootOk && parts.length === 0) {
    throw new RangeError("Share folders or files, not the whole tree");
  }
  return parts;
}

function once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  return (async function* () {
    yield concat(bytes);
  })();
}
