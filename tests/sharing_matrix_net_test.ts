/**
 * The permission matrix on a real network (docs/sharing.md): owner, group member,
 * non-member and anyone × read, write × folder, file × granted, revoked.
 *
 * - `/team` (folder): group `team`, mode 770, shared with the group for writing (private group
 *   storage); `/team/a.txt` is the file written over.
 * - `/memo.txt` (file): group `team`, mode 640, so the group reads it.
 * - `/pub` (folder): mode 777 with a byte cap, so anyone reads and writes it.
 *
 * Every allowed operation works byte for byte; every forbidden one is refused with its reason and
 * changes nothing: the owner's folder lists the same names, and a write request signed with any
 * key a refused writer holds (its own, or the one it held before being revoked) is refused by
 * every supplier and not stored. A revoked reader's old key no longer opens the folder.
 */
import { shardId } from "../src/crypto/merkle.ts";
import { randomBytes } from "../src/crypto/hash.ts";
import { fromBase32 } from "../src/encoding/base32.ts";
import type { MoteNode } from "../src/node/node.ts";
import { SharedReader } from "../src/node/shared_reader.ts";
import { sendWrite, SharedWriter } from "../src/node/shared_writer.ts";
import { SharingService } from "../src/node/sharing.ts";
import { SharingError } from "../src/sharing/errors.ts";
import { generateWriteKey } from "../src/sharing/write_key.ts";
import { signWriteRequest } from "../src/sharing/write_request.ts";
import { assert, assertEquals } from "./_assert.ts";
import { startCluster, waitFor } from "./_harness.ts";
import { chunks, collect, startOwner, startSupplier } from "./_storage_net.ts";

type Outcome = "ok" | string;

Deno.test({
  name: "the sharing matrix on real nodes: allowed works, forbidden is refused and changes nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster(8);
    const [ownerNode, nM, nN, nX, ...rest] = cluster.nodes as MoteNode[];
    const suppliers = await Promise.all(rest.map((n) => startSupplier(n)));
    await Promise.all(suppliers.map((s) => s.announce()));
    await Promise.all(cluster.nodes.map((n) => n.publishIdentity()));
    const { storage, catalog } = await startOwner(ownerNode!, {
      supplierCount: 4,
      quota: 64 << 20,
    });
    const sharing = new SharingService(storage);
    const owner = ownerNode!.id;
    const original = {
      a: randomBytes(3000),
      memo: randomBytes(2500),
      pub: randomBytes(1500),
    };
    await catalog.put("/team/a.txt", chunks(original.a), original.a.length);
    await catalog.put("/memo.txt", chunks(original.memo), original.memo.length);
    await catalog.put("/pub/p.txt", chunks(original.pub), original.pub.length);
    await sharing.createGroup("team");
    await sharing.addMember("team", nM!.id);
    await sharing.chgrp("/team", "team");
    await sharing.chmod("/team", "770");
    await sharing.share("/team", { group: "team" }, { write: true });
    await sharing.chgrp("/memo.txt", "team");
    await sharing.chmod("/memo.txt", "640");
    await sharing.chmod("/pub", "777", { cap: 1 << 20 });

    const roles = { member: nM!, "non-member": nN!, anyone: nX! };
    // One reader and writer per node, as a running node has: a reader remembers what it could
    // open, so a refusal after a revocation says "revoked".
    const readers = new Map<MoteNode, SharedReader>(), writers = new Map<MoteNode, SharedWriter>();
    const reader = (n: MoteNode) => readers.get(n) ?? readers.set(n, new SharedReader(n)).get(n)!;
    const writer = (n: MoteNode) =>
      writers.get(n) ?? writers.set(n, new SharedWriter(n, reader(n))).get(n)!;
    const peers = await (async () => {
      let found: { id: string; peer: string }[] = [];
      await waitFor(
        async () => (found = await writer(nX!).suppliersOf(owner)).length === 4,
        20_000,
        "the owner's four suppliers to be found",
        500,
      );
      return found;
    })();
    const stored = (id: string) =>
      Promise.all(suppliers.map((s) => s.store.has(owner, id))).then((l) => l.some(Boolean));
    const names = async (path: string) => (await catalog.list(path)).map((e) => e.name).sort();

    /** Runs one cell: `ok` when it worked, otherwise the refusal's reason. */
    const outcome = async (f: () => Promise<unknown>): Promise<Outcome> => {
      try {
        await f();
        return "ok";
      } catch (e) {
        if (e instanceof SharingError) return e.reason;
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
    };
    /** What `n` can do to each object; writes go to fresh names unless they write over a file. */
    const cells = (n: MoteNode, tag: string) => {
      const body = randomBytes(1200);
      return {
        "read folder": async () => {
          const r = reader(n);
          const listed = (await r.list(owner, ["team"])).map((x) => x.name);
          assert(listed.includes("a.txt"), `listed ${listed}`);
          assertEquals(await collect((await r.get(owner, ["team", "a.txt"])).stream), original.a);
        },
        "write folder": async () => {
          await writer(n).put(owner, ["team", `${tag}.bin`], chunks(body), body.length);
          const r = reader(n);
          assertEquals(await collect((await r.get(owner, ["team", `${tag}.bin`])).stream), body);
        },
        "read file": async () => {
          const got = await collect((await reader(n).get(owner, ["memo.txt"])).stream);
          assertEquals(got, original.memo);
        },
        "write file": async () => {
          await writer(n).put(owner, ["team", "a.txt"], chunks(body), body.length);
          const r = reader(n);
          assertEquals(await collect((await r.get(owner, ["team", "a.txt"])).stream), body);
          original.a = body; // the next reader of a.txt reads this
        },
        "read public folder": async () => {
          const r = reader(n);
          assertEquals(await collect((await r.get(owner, ["pub", "p.txt"])).stream), original.pub);
        },
        "write public folder": async () => {
          await writer(n).put(owner, ["pub", `${tag}.bin`], chunks(body), body.length);
          assertEquals(
            await collect((await reader(n).get(owner, ["pub", `${tag}.bin`])).stream),
            body,
          );
        },
      };
    };
    const table: string[] = [];
    const check = async (
      who: keyof typeof roles,
      state: string,
      expected: Record<string, Outcome>,
    ) => {
      const before = { team: await names("/team"), pub: await names("/pub") };
      const ops = cells(roles[who], `${who}-${state}`);
      const got: Record<string, Outcome> = {};
      for (const [op, f] of Object.entries(ops)) got[op] = await outcome(f);
      table.push(`${who.padEnd(10)} ${state.padEnd(8)} ${JSON.stringify(got)}`);
      assertEquals(got, expected, `${who}, ${state}`);
      // A refused write added nothing to the owner's folders (after the owner's node merges).
      await sharing.mergeWrites();
      const written = [["write folder", "team"], ["write public folder", "pub"]] as const;
      for (const [op, folder] of written) {
        if (got[op] === "ok") continue;
        assertEquals(await names(`/${folder}`), before[folder], `${who} ${op}`);
      }
    };
    /** Every supplier refuses a write request signed with `secret` and stores nothing. */
    const suppliersRefuse = async (
      n: MoteNode,
      secret: Uint8Array,
      policy: { folder: string; seq: number },
      reason: string,
    ) => {
      const data = randomBytes(8000), id = await shardId(data);
      for (const s of peers) {
        const req = signWriteRequest(secret, {
          owner,
          folder: policy.folder,
          seq: policy.seq,
          supplier: s.id,
          shard: fromBase32(id),
          size: data.length,
          expires: Date.now() + 60_000,
        });
        const e = await sendWrite(n, s.peer, req, data).then(() => undefined, (e) => e);
        assert(e instanceof SharingError, `supplier ${s.id} took a refused writer's shard`);
        assertEquals(e.reason, reason, e.message);
      }
      assertEquals(await stored(id), false);
    };

    let held: Awaited<ReturnType<SharedWriter["writable"]>>[number] | undefined;
    await t.step("granted", async () => {
      // The owner does everything through its own catalog.
      const mine = randomBytes(900);
      await catalog.put("/team/owner.bin", chunks(mine), mine.length);
      assertEquals(await collect((await catalog.get("/team/owner.bin")).stream), mine);
      assertEquals(await collect((await catalog.get("/memo.txt")).stream), original.memo);
      const all = {
        "read folder": "ok",
        "write folder": "ok",
        "read file": "ok",
        "write file": "ok",
        "read public folder": "ok",
        "write public folder": "ok",
      };
      const outsider = {
        ...all,
        "read folder": "denied",
        "write folder": "denied",
        "read file": "denied",
        "write file": "denied",
      };
      // The keys to /team the member holds now (its write secret, read key and policy).
      held = (await writer(nM!).writable(owner)).find((f) => f.path === "/team");
      assert(held, "the member may write /team");
      await check("member", "granted", all);
      await check("non-member", "granted", outsider);
      await check("anyone", "granted", outsider);
      // A non-member's own key, however it signs, is refused by every supplier.
      await suppliersRefuse(nN!, generateWriteKey().secret, held.policy, "bad-signature");
    });

    await t.step("revoked", async () => {
      await sharing.removeMember("team", nM!.id);
      await sharing.chmod("/pub", "770");
      const none = {
        "read folder": "revoked",
        "write folder": "denied",
        "read file": "revoked",
        "write file": "denied",
        "read public folder": "revoked",
        "write public folder": "denied",
      };
      await check("member", "revoked", none);
      await check("anyone", "revoked", none);
      // The key the member held before is refused by every supplier, and opens nothing new.
      await suppliersRefuse(nM!, held!.secret, held!.policy, "stale-policy");
      const e = await new SharedReader(nM!).openFolder(owner, held!.writePub, held!.readKey)
        .then(() => undefined, (e) => e);
      assert(e instanceof SharingError && e.reason === "revoked", String(e));
    });
    console.log(table.join("\n"));
    sharing.stop();
    await storage.stop();
  },
});
