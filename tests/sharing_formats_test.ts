/**
 * The formats sharing added to the catalog and the network: folder versions and file entries
 * with modes and groups (old data without them still decodes, and encodes as before), the owner's
 * private sharing state, and the public `share` record (bounds, what it refuses), plus the
 * inheritance rules new children follow.
 */
import { randomBytes } from "../src/crypto/hash.ts";
import { decode, encode } from "../src/encoding/cbor.ts";
import { DecodeError } from "../src/encoding/errors.ts";
import { decodeFolder, encodeFolder, type FolderVersion } from "../src/catalog/folder.ts";
import { fileEntry, fileMode, inherited } from "../src/catalog/permissions.ts";
import { generateIdentity } from "../src/identity/keys.ts";
import { createRecord, decodeRecord, encodeRecord, recordKeyOf } from "../src/records/record.ts";
import { namespaces } from "../src/records/namespace.ts";
import { createGrant, encodeGrant } from "../src/sharing/grants.ts";
import { decodeOwnerState, encodeOwnerState } from "../src/sharing/owner_state.ts";
import {
  decodeShareList,
  encodeShareList,
  MAX_SHARE_VALUE,
  SHARE_NAMESPACE,
} from "../src/sharing/share_record.ts";
import { assertEquals, assertThrows } from "./_assert.ts";

const version = {
  size: 3,
  mtime: 1,
  added: 2,
  hash: new Uint8Array(32),
  key: new Uint8Array(32).fill(1),
  inline: new Uint8Array([1, 2, 3]),
};

function folder(extra: Partial<FolderVersion> = {}): FolderVersion {
  return {
    v: 1,
    owner: generateIdentity().id,
    mode: 0o750,
    writePub: new Uint8Array(32).fill(7),
    parent: new Uint8Array(0),
    counter: 3,
    entries: { "a.txt": { t: "f", versions: [version] } },
    ...extra,
  };
}

Deno.test("a folder without a group or file modes encodes as the first release did", () => {
  const f = folder();
  const bytes = encodeFolder(f);
  const raw = decode(bytes) as Record<string, unknown>;
  assertEquals(Object.keys(raw).sort(), [
    "counter",
    "entries",
    "mode",
    "owner",
    "parent",
    "v",
    "writePub",
  ]);
  assertEquals(decodeFolder(bytes), f);
  // Such a file follows its folder: r and w of the folder's bits, its group.
  const e = f.entries["a.txt"]!;
  assertEquals(e.t === "f" && fileMode(f, e), { mode: 0o640 });
});

Deno.test("folder groups and file modes and groups round-trip; bad ones are refused", async (t) => {
  const f = folder({
    group: "family",
    entries: { "a.txt": { t: "f", versions: [version], mode: 0o600, group: "friends" } },
  });
  assertEquals(decodeFolder(encodeFolder(f)), f);
  const cases: [string, Record<string, unknown>][] = [
    ["a group that is not a group name", { group: "Not A Group" }],
    ["a folder mode over 0o777", { mode: 0o1000 }],
    ["a file mode over 0o777", {
      entries: { "a.txt": { t: "f", versions: [version], mode: 0o7777 } },
    }],
    ["an unknown entry field", { entries: { "a.txt": { t: "f", versions: [version], acl: 1 } } }],
  ];
  for (const [what, change] of cases) {
    await t.step(`decodeFolder() refuses ${what}`, () => {
      assertThrows(() => decodeFolder(encode({ ...folder(), ...change })), DecodeError);
    });
  }
});

Deno.test("new children inherit: subfolders the mode and group, files r and w", () => {
  const parent = folder({ mode: 0o751, group: "family" });
  assertEquals(inherited(parent), { mode: 0o751, group: "family" });
  assertEquals(inherited(undefined), { mode: 0o700 });
  const e = fileEntry(parent, undefined, [version]);
  assertEquals([e.mode, e.group], [0o640, "family"]);
  // A new version keeps the file's own mode and group.
  const again = fileEntry(parent, { ...e, mode: 0o600 }, [version, version]);
  assertEquals([again.mode, again.group, again.versions.length], [0o600, "family", 2]);
});

Deno.test("the owner's sharing state round-trips and refuses bad readers and groups", () => {
  const reader = generateIdentity();
  const s = {
    v: 1 as const,
    groups: ["family"],
    shares: [
      {
        path: "/photos",
        kind: "d" as const,
        readers: [{ id: reader.id, agree: reader.agreePublic }],
        groups: ["family"],
        id: randomBytes(32),
      },
      {
        path: "/a.bin",
        kind: "f" as const,
        readers: [],
        groups: [],
        id: randomBytes(32),
        key: randomBytes(32),
      },
    ],
  };
  assertEquals(decodeOwnerState(encodeOwnerState(s)), s);
  const withKnown = { ...s, known: [{ id: reader.id, agree: reader.agreePublic }] };
  assertEquals(decodeOwnerState(encodeOwnerState(withKnown)), withKnown);
  assertThrows(
    () => decodeOwnerState(encode({ ...s, groups: ["Bad Name"] })),
    DecodeError,
  );
  assertThrows(
    () =>
      decodeOwnerState(encode({
        ...s,
        shares: [{ ...s.shares[0], readers: [{ id: "x", agree: reader.agreePublic }] }],
      })),
    DecodeError,
  );
});

Deno.test("the share record: one per owner, read grants only, files carry a box", async (t) => {
  const owner = generateIdentity(), reader = generateIdentity();
  const grant = await createGrant({
    purpose: "read",
    object: randomBytes(32),
    key: randomBytes(32),
    readers: [{ id: reader.id, agreePublic: reader.agreePublic }],
  });
  const list = {
    v: 1 as const,
    groups: [],
    entries: [
      { kind: "d" as const, grant, label: randomBytes(40) },
      { kind: "f" as const, grant, label: randomBytes(40), box: randomBytes(200) },
    ],
  };
  const value = encodeShareList(list);
  assertEquals(decodeShareList(value), list);
  const rec = createRecord(owner.signSecret, owner.signPublic, {
    ns: "share",
    name: new Uint8Array(0),
    seq: 0,
    value,
  });
  const ns = namespaces(SHARE_NAMESPACE);
  await t.step("the record verifies at the owner's key, and not at another's", () => {
    decodeRecord(encodeRecord(rec), { namespaces: ns, key: recordKeyOf("share", owner.id) });
    assertThrows(() =>
      decodeRecord(encodeRecord(rec), {
        namespaces: ns,
        key: recordKeyOf("share", reader.id),
      })
    );
  });
  const writeGrant = await createGrant({
    purpose: "write",
    object: randomBytes(32),
    key: randomBytes(32),
  });
  const bad: [string, unknown][] = [
    ["a write grant", { ...list, entries: [{ ...list.entries[0], grant: writeGrant }] }],
    ["a file without a box", { ...list, entries: [{ ...list.entries[1], box: undefined }] }],
    ["a folder with a box", { ...list, entries: [{ ...list.entries[0], box: randomBytes(4) }] }],
    ["an unknown kind", { ...list, entries: [{ ...list.entries[0], kind: "x" }] }],
  ];
  for (const [what, l] of bad) {
    await t.step(`decodeShareList() refuses ${what}`, () => {
      const raw = l as typeof list;
      const bytes = encode({
        v: 1,
        groups: raw.groups,
        entries: raw.entries.map((e) => {
          const { grant: g, box, ...rest } = e as typeof list.entries[1];
          return {
            ...rest,
            grant: encodeGrant(g),
            ...(box ? { box } : {}),
          };
        }),
      });
      assertThrows(() => decodeShareList(bytes), DecodeError);
    });
  }
  await t.step("a list that does not fit one record is refused before it is signed", () => {
    const many = {
      ...list,
      entries: Array(40).fill({ ...list.entries[1], box: randomBytes(2000) }),
    };
    assertThrows(() => encodeShareList(many), RangeError, `of ${MAX_SHARE_VALUE} bytes`);
  });
});
