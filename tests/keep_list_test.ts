/**
 * The keep list format: pages round-trip, large objects continue across pages with the right
 * first block, the page limit is enforced, and a tampered or foreign page is refused.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { randomBytes } from "../src/crypto/hash.ts";
import { toBase32 } from "../src/encoding/base32.ts";
import {
  buildKeepPages,
  decodeKeepPage,
  type KeptObject,
  keptShardIds,
  MAX_PAGE_BYTES,
  MAX_PAGES,
  openKeepPage,
} from "../src/files/keep_list.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

const secret = randomBytes(32), pub = ed25519.getPublicKey(secret);
const head = { owner: "a".repeat(52), seq: 7, created: 1_700_000_000_000 };

function object(blocks: number, k = 4, m = 2): KeptObject {
  return {
    id: randomBytes(32),
    k,
    m,
    blocks: Array.from(
      { length: blocks },
      () => Array.from({ length: k + m }, () => toBase32(randomBytes(32))),
    ),
  };
}

Deno.test("a small keep list is one signed page naming every shard", () => {
  const objects = [object(1), object(3, 2, 1), object(2, 1, 1)];
  const pages = buildKeepPages(objects, head, secret);
  assertEquals(pages.length, 1);
  const page = openKeepPage(pages[0]!, pub);
  assertEquals([page.owner, page.seq, page.created, page.page, page.pages], [
    head.owner,
    7,
    head.created,
    0,
    1,
  ]);
  assertEquals(page.objects.map((o) => [o.k, o.m, o.first]), [[4, 2, 0], [2, 1, 0], [1, 1, 0]]);
  assertEquals(keptShardIds([page]), new Set(objects.flatMap((o) => o.blocks.flat())));
});

Deno.test("a large object continues on the next page from the right block", () => {
  // 1 MiB pages hold about 5 400 blocks of 4+2 ids; 12 000 blocks need three pages.
  const big = object(12_000), small = object(2);
  const pages = buildKeepPages([small, big], head, secret);
  assertEquals(pages.length, 3);
  const opened = pages.map((p) => openKeepPage(p, pub));
  for (const [i, p] of opened.entries()) {
    assertEquals([p.page, p.pages, p.seq], [i, 3, 7]);
    assert(pages[i]!.body.length <= MAX_PAGE_BYTES, `page ${i} is within the limit`);
  }
  const parts = opened.flatMap((p) => p.objects).filter((o) =>
    o.id.every((b, j) => b === big.id[j])
  );
  let next = 0;
  for (const part of parts) {
    assertEquals(part.first, next, "parts follow each other without gaps");
    assertEquals(part.shards, big.blocks.slice(next, next + part.shards.length / 6).flat());
    next += part.shards.length / 6;
  }
  assertEquals(next, 12_000);
  assertEquals(keptShardIds(opened).size, 12_002 * 6);
});

Deno.test("a list that needs more pages than allowed is refused whole", () => {
  const perPage = Math.floor(MAX_PAGE_BYTES / (6 * 32));
  const row = object(1).blocks[0]!;
  const huge = { ...object(1), blocks: new Array(perPage * (MAX_PAGES + 1)).fill(row) };
  assertThrows(
    () => buildKeepPages([huge], head, secret),
    RangeError,
    "pages",
  );
});

Deno.test("a tampered page, another key or a malformed body is refused", () => {
  const [page] = buildKeepPages([object(1)], head, secret);
  const tampered = page!.body.slice();
  tampered[tampered.length - 1]! ^= 1;
  assertThrows(() => openKeepPage({ body: tampered, sig: page!.sig }, pub), Error, "signature");
  const other = ed25519.getPublicKey(randomBytes(32));
  assertThrows(() => openKeepPage(page!, other), Error, "signature");
  assertThrows(() => decodeKeepPage(new Uint8Array([0xa0])), Error, "keep list page");
  assertThrows(
    () => openKeepPage({ body: new Uint8Array(MAX_PAGE_BYTES + 1), sig: page!.sig }, pub),
    Error,
    "over",
  );
});
