/** Replacing a data directory's identity keeps the old key and its customer state aside. */
import { exportKeyFile, generateIdentity, importKeyFile } from "../src/identity/mod.ts";
import {
  applyStagedIdentity,
  replaceIdentity,
  STAGED_IDENTITY,
  stageIdentity,
} from "../src/node/identity_swap.ts";
import { saveIdentity } from "../src/node/keys.ts";
import { dirState } from "../src/node/state.ts";
import { assert, assertEquals } from "./_assert.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("replaceIdentity() moves the old key and customer state aside and marks a restore", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = generateIdentity(), second = generateIdentity();
    await saveIdentity(dirState(dir), first);
    await Deno.writeTextFile(`${dir}/hired-contracts.cbor`, "contracts of the first");
    await Deno.writeTextFile(`${dir}/placement.cbor`, "placement of the first");
    await Deno.writeTextFile(`${dir}/kept-records.cbor`, "kept for others");
    const { backup } = await replaceIdentity(dir, second);
    assert(backup?.startsWith(`${dir}/replaced-identities/${first.id}-`), backup);
    const oldKey = await importKeyFile(await Deno.readTextFile(`${backup}/identity.key`));
    assertEquals(oldKey.id, first.id);
    assertEquals(
      await Deno.readTextFile(`${backup}/hired-contracts.cbor`),
      "contracts of the first",
    );
    assert(!await exists(`${dir}/hired-contracts.cbor`), "the contracts moved");
    assert(!await exists(`${dir}/placement.cbor`), "the placement moved");
    // What the node keeps for others stays.
    assertEquals(await Deno.readTextFile(`${dir}/kept-records.cbor`), "kept for others");
    const now = await importKeyFile(await Deno.readTextFile(`${dir}/identity.key`));
    assertEquals(now.id, second.id);
    assertEquals(await Deno.readTextFile(`${dir}/restore-pending`), "pending");
    // The same identity again changes nothing.
    assertEquals(await replaceIdentity(dir, second), {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a staged identity is installed by applyStagedIdentity() and only once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = generateIdentity(), second = generateIdentity();
    await saveIdentity(dirState(dir), first);
    assertEquals(await applyStagedIdentity(dir), null);
    await stageIdentity(dir, second);
    if (Deno.build.os !== "windows") {
      assertEquals((await Deno.stat(`${dir}/${STAGED_IDENTITY}`)).mode! & 0o777, 0o600);
    }
    const r = await applyStagedIdentity(dir);
    assertEquals(r?.id, second.id);
    assert(r?.backup, "the first identity was kept");
    assert(!await exists(`${dir}/${STAGED_IDENTITY}`), "the staged key is gone");
    assertEquals(await applyStagedIdentity(dir), null);
    const text = await Deno.readTextFile(`${dir}/identity.key`);
    assertEquals(text, await exportKeyFile(second));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
