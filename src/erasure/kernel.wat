;; Reed-Solomon dot-product kernels for Mote's erasure code (src/erasure), hand-written
;; WebAssembly SIMD. build_wasm.ts assembles this file twice with wabt: as written, and with every
;; i8x16.swizzle turned into i8x16.relaxed_swizzle; both builds are embedded in _kernel_wasm.ts.
;;
;; dotN(tables, sources, k, outputs, len) writes N output shards, each the GF(2^8) dot product of
;; one coding-matrix row with the k source shards: out_q[i] = XOR over j of c[q][j] * src_j[i].
;;   tables   k * N * 32 bytes: for source j, output q, at (j * N + q) * 32, the products of
;;            c[q][j] with the low nibbles 0..15, then with the high nibbles (gf256.ts writes them)
;;   sources  k little-endian i32 addresses of the source shards
;;   outputs  N addresses of the output shards (never overlapping a source)
;;   len      bytes per shard, a multiple of 32: callers pad every shard slot to that
;;
;; c * b = lo[b & 15] ^ hi[b >> 4], so one product of 16 bytes is two 16-lane table lookups
;; (i8x16.swizzle: pshufb on x64, tbl on ARM). Plain swizzle must return 0 for indices >= 16, which
;; costs V8 a saturating add before each pshufb on x64; relaxed_swizzle leaves those indices
;; implementation-defined and compiles to the bare pshufb. Our indices are always < 16, so both
;; builds compute the same bytes.
;;
;; The loop order is ISA-L's gf_Nvect_dot_prod: for each 32 bytes of column, walk the k sources,
;; keep the 2N accumulators (N outputs, two 16-byte halves) in locals, which V8 keeps in
;; registers, and store each output once. Measured for 10+4 over 64 MiB on this project's 2-core
;; EPYC (best of 4 rounds): 32 bytes per step 5.9 GB/s against 4.4 GB/s for 16 bytes per step (the
;; tables are loaded once for two halves), and one pass of four outputs 5.9 GB/s against 5.0 GB/s
;; for two passes of two (each pass re-reads all k sources). Eight outputs in one pass (16
;; accumulators plus tables and nibbles exceed x64's 16 vector registers) measured 10% slower than
;; two passes of four for 18+8, so callers split rows into passes of at most four.
(module
  (import "env" "memory" (memory 1))

  ;; 1 output per pass.
  (func (export "dot1")
    (param $tbl i32) (param $src i32) (param $k i32) (param $dst i32) (param $len i32)
    (local $off i32) (local $s i32) (local $end i32) (local $t i32) (local $p i32)
    (local $mask v128) (local $tl v128) (local $th v128)
    (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128)
    (local $a0 v128) (local $b0 v128)
    (local.set $mask (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $k) (i32.const 2))))
    (block $done
      (loop $columns
        (br_if $done (i32.ge_u (local.get $off) (local.get $len)))
        (local.set $a0 (v128.const i64x2 0 0))
        (local.set $b0 (v128.const i64x2 0 0))
        (local.set $s (local.get $src))
        (local.set $t (local.get $tbl))
        (loop $sources
          ;; Low and high nibbles of 32 bytes of source j.
          (local.set $p (i32.add (i32.load (local.get $s)) (local.get $off)))
          (local.set $tl (v128.load offset=0 (local.get $p)))
          (local.set $lo0 (v128.and (local.get $tl) (local.get $mask)))
          (local.set $hi0
            (v128.and (i16x8.shr_u (local.get $tl) (i32.const 4)) (local.get $mask)))
          (local.set $th (v128.load offset=16 (local.get $p)))
          (local.set $lo1 (v128.and (local.get $th) (local.get $mask)))
          (local.set $hi1
            (v128.and (i16x8.shr_u (local.get $th) (i32.const 4)) (local.get $mask)))
          ;; Output 0: acc ^= lo_table[lo] ^ hi_table[hi], for both halves.
          (local.set $tl (v128.load offset=0 (local.get $t)))
          (local.set $th (v128.load offset=16 (local.get $t)))
          (local.set $a0 (v128.xor (local.get $a0)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo0))
                      (i8x16.swizzle (local.get $th) (local.get $hi0)))))
          (local.set $b0 (v128.xor (local.get $b0)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo1))
                      (i8x16.swizzle (local.get $th) (local.get $hi1)))))
          (local.set $t (i32.add (local.get $t) (i32.const 32)))
          (br_if $sources
            (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 4))) (local.get $end))))
        (local.set $p (i32.add (i32.load offset=0 (local.get $dst)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $b0))
        (local.set $off (i32.add (local.get $off) (i32.const 32)))
        (br $columns))))

  ;; 2 outputs per pass.
  (func (export "dot2")
    (param $tbl i32) (param $src i32) (param $k i32) (param $dst i32) (param $len i32)
    (local $off i32) (local $s i32) (local $end i32) (local $t i32) (local $p i32)
    (local $mask v128) (local $tl v128) (local $th v128)
    (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128)
    (local $a0 v128) (local $b0 v128) (local $a1 v128) (local $b1 v128)
    (local.set $mask (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $k) (i32.const 2))))
    (block $done
      (loop $columns
        (br_if $done (i32.ge_u (local.get $off) (local.get $len)))
        (local.set $a0 (v128.const i64x2 0 0))
        (local.set $b0 (v128.const i64x2 0 0))
        (local.set $a1 (v128.const i64x2 0 0))
        (local.set $b1 (v128.const i64x2 0 0))
        (local.set $s (local.get $src))
        (local.set $t (local.get $tbl))
        (loop $sources
          ;; Low and high nibbles of 32 bytes of source j.
          (local.set $p (i32.add (i32.load (local.get $s)) (local.get $off)))
          (local.set $tl (v128.load offset=0 (local.get $p)))
          (local.set $lo0 (v128.and (local.get $tl) (local.get $mask)))
          (local.set $hi0
            (v128.and (i16x8.shr_u (local.get $tl) (i32.const 4)) (local.get $mask)))
          (local.set $th (v128.load offset=16 (local.get $p)))
          (local.set $lo1 (v128.and (local.get $th) (local.get $mask)))
          (local.set $hi1
            (v128.and (i16x8.shr_u (local.get $th) (i32.const 4)) (local.get $mask)))
          ;; Output 0: acc ^= lo_table[lo] ^ hi_table[hi], for both halves.
          (local.set $tl (v128.load offset=0 (local.get $t)))
          (local.set $th (v128.load offset=16 (local.get $t)))
          (local.set $a0 (v128.xor (local.get $a0)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo0))
                      (i8x16.swizzle (local.get $th) (local.get $hi0)))))
          (local.set $b0 (v128.xor (local.get $b0)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo1))
                      (i8x16.swizzle (local.get $th) (local.get $hi1)))))
          ;; Output 1: acc ^= lo_table[lo] ^ hi_table[hi], for both halves.
          (local.set $tl (v128.load offset=32 (local.get $t)))
          (local.set $th (v128.load offset=48 (local.get $t)))
          (local.set $a1 (v128.xor (local.get $a1)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo0))
                      (i8x16.swizzle (local.get $th) (local.get $hi0)))))
          (local.set $b1 (v128.xor (local.get $b1)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo1))
                      (i8x16.swizzle (local.get $th) (local.get $hi1)))))
          (local.set $t (i32.add (local.get $t) (i32.const 64)))
          (br_if $sources
            (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 4))) (local.get $end))))
        (local.set $p (i32.add (i32.load offset=0 (local.get $dst)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $b0))
        (local.set $p (i32.add (i32.load offset=4 (local.get $dst)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a1))
        (v128.store offset=16 (local.get $p) (local.get $b1))
        (local.set $off (i32.add (local.get $off) (i32.const 32)))
        (br $columns))))

  ;; 3 outputs per pass.
  (func (export "dot3")
    (param $tbl i32) (param $src i32) (param $k i32) (param $dst i32) (param $len i32)
    (local $off i32) (local $s i32) (local $end i32) (local $t i32) (local $p i32)
    (local $mask v128) (local $tl v128) (local $th v128)
    (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128)
    (local $a0 v128) (local $b0 v128) (local $a1 v128) (local $b1 v128) (local $a2 v128) (local $b2 v128)
    (local.set $mask (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $k) (i32.const 2))))
    (block $done
      (loop $columns
        (br_if $done (i32.ge_u (local.get $off) (local.get $len)))
        (local.set $a0 (v128.const i64x2 0 0))
        (local.set $b0 (v128.const i64x2 0 0))
        (local.set $a1 (v128.const i64x2 0 0))
        (local.set $b1 (v128.const i64x2 0 0))
        (local.set $a2 (v128.const i64x2 0 0))
        (local.set $b2 (v128.const i64x2 0 0))
        (local.set $s (local.get $src))
        (local.set $t (local.get $tbl))
        (loop $sources
          ;; Low and high nibbles of 32 bytes of source j.
          (local.set $p (i32.add (i32.load (local.get $s)) (local.get $off)))
          (local.set $tl (v128.load offset=0 (local.get $p)))
          (local.set $lo0 (v128.and (local.get $tl) (local.get $mask)))
          (local.set $hi0
            (v128.and (i16x8.shr_u (local.get $tl) (i32.const 4)) (local.get $mask)))
          (local.set $th (v128.load offset=16 (local.get $p)))
          (local.set $lo1 (v128.and (local.get $th) (local.get $mask)))
          (local.set $hi1
            (v128.and (i16x8.shr_u (local.get $th) (i32.const 4)) (local.get $mask)))
          ;; Output 0: acc ^= lo_table[lo] ^ hi_table[hi], for both halves.
          (local.set $tl (v128.load offset=0 (local.get $t)))
          (local.set $th (v128.load offset=16 (local.get $t)))
          (local.set $a0 (v128.xor (local.get $a0)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo0))
                      (i8x16.swizzle (local.get $th) (local.get $hi0)))))
          (local.set $b0 (v128.xor (local.get $b0)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo1))
                      (i8x16.swizzle (local.get $th) (local.get $hi1)))))
          ;; Output 1: acc ^= lo_table[lo] ^ hi_table[hi], for both halves.
          (local.set $tl (v128.load offset=32 (local.get $t)))
          (local.set $th (v128.load offset=48 (local.get $t)))
          (local.set $a1 (v128.xor (local.get $a1)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo0))
                      (i8x16.swizzle (local.get $th) (local.get $hi0)))))
          (local.set $b1 (v128.xor (local.get $b1)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo1))
                      (i8x16.swizzle (local.get $th) (local.get $hi1)))))
          ;; Output 2: acc ^= lo_table[lo] ^ hi_table[hi], for both halves.
          (local.set $tl (v128.load offset=64 (local.get $t)))
          (local.set $th (v128.load offset=80 (local.get $t)))
          (local.set $a2 (v128.xor (local.get $a2)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo0))
                      (i8x16.swizzle (local.get $th) (local.get $hi0)))))
          (local.set $b2 (v128.xor (local.get $b2)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo1))
                      (i8x16.swizzle (local.get $th) (local.get $hi1)))))
          (local.set $t (i32.add (local.get $t) (i32.const 96)))
          (br_if $sources
            (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 4))) (local.get $end))))
        (local.set $p (i32.add (i32.load offset=0 (local.get $dst)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $b0))
        (local.set $p (i32.add (i32.load offset=4 (local.get $dst)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a1))
        (v128.store offset=16 (local.get $p) (local.get $b1))
        (local.set $p (i32.add (i32.load offset=8 (local.get $dst)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a2))
        (v128.store offset=16 (local.get $p) (local.get $b2))
        (local.set $off (i32.add (local.get $off) (i32.const 32)))
        (br $columns))))

  ;; 4 outputs per pass.
  (func (export "dot4")
    (param $tbl i32) (param $src i32) (param $k i32) (param $dst i32) (param $len i32)
    (local $off i32) (local $s i32) (local $end i32) (local $t i32) (local $p i32)
    (local $mask v128) (local $tl v128) (local $th v128)
    (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128)
    (local $a0 v128) (local $b0 v128) (local $a1 v128) (local $b1 v128) (local $a2 v128) (local $b2 v128) (local $a3 v128) (local $b3 v128)
    (local.set $mask (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $k) (i32.const 2))))
    (block $done
      (loop $columns
        (br_if $done (i32.ge_u (local.get $off) (local.get $len)))
        (local.set $a0 (v128.const i64x2 0 0))
        (local.set $b0 (v128.const i64x2 0 0))
        (local.set $a1 (v128.const i64x2 0 0))
        (local.set $b1 (v128.const i64x2 0 0))
        (local.set $a2 (v128.const i64x2 0 0))
        (local.set $b2 (v128.const i64x2 0 0))
        (local.set $a3 (v128.const i64x2 0 0))
        (local.set $b3 (v128.const i64x2 0 0))
        (local.set $s (local.get $src))
        (local.set $t (local.get $tbl))
        (loop $sources
          ;; Low and high nibbles of 32 bytes of source j.
          (local.set $p (i32.add (i32.load (local.get $s)) (local.get $off)))
          (local.set $tl (v128.load offset=0 (local.get $p)))
          (local.set $lo0 (v128.and (local.get $tl) (local.get $mask)))
          (local.set $hi0
            (v128.and (i16x8.shr_u (local.get $tl) (i32.const 4)) (local.get $mask)))
          (local.set $th (v128.load offset=16 (local.get $p)))
          (local.set $lo1 (v128.and (local.get $th) (local.get $mask)))
          (local.set $hi1
            (v128.and (i16x8.shr_u (local.get $th) (i32.const 4)) (local.get $mask)))
          ;; Output 0: acc ^= lo_table[lo] ^ hi_table[hi], for both halves.
          (local.set $tl (v128.load offset=0 (local.get $t)))
          (local.set $th (v128.load offset=16 (local.get $t)))
          (local.set $a0 (v128.xor (local.get $a0)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo0))
                      (i8x16.swizzle (local.get $th) (local.get $hi0)))))
          (local.set $b0 (v128.xor (local.get $b0)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo1))
                      (i8x16.swizzle (local.get $th) (local.get $hi1)))))
          ;; Output 1: acc ^= lo_table[lo] ^ hi_table[hi], for both halves.
          (local.set $tl (v128.load offset=32 (local.get $t)))
          (local.set $th (v128.load offset=48 (local.get $t)))
          (local.set $a1 (v128.xor (local.get $a1)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo0))
                      (i8x16.swizzle (local.get $th) (local.get $hi0)))))
          (local.set $b1 (v128.xor (local.get $b1)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo1))
                      (i8x16.swizzle (local.get $th) (local.get $hi1)))))
          ;; Output 2: acc ^= lo_table[lo] ^ hi_table[hi], for both halves.
          (local.set $tl (v128.load offset=64 (local.get $t)))
          (local.set $th (v128.load offset=80 (local.get $t)))
          (local.set $a2 (v128.xor (local.get $a2)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo0))
                      (i8x16.swizzle (local.get $th) (local.get $hi0)))))
          (local.set $b2 (v128.xor (local.get $b2)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo1))
                      (i8x16.swizzle (local.get $th) (local.get $hi1)))))
          ;; Output 3: acc ^= lo_table[lo] ^ hi_table[hi], for both halves.
          (local.set $tl (v128.load offset=96 (local.get $t)))
          (local.set $th (v128.load offset=112 (local.get $t)))
          (local.set $a3 (v128.xor (local.get $a3)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo0))
                      (i8x16.swizzle (local.get $th) (local.get $hi0)))))
          (local.set $b3 (v128.xor (local.get $b3)
            (v128.xor (i8x16.swizzle (local.get $tl) (local.get $lo1))
                      (i8x16.swizzle (local.get $th) (local.get $hi1)))))
          (local.set $t (i32.add (local.get $t) (i32.const 128)))
          (br_if $sources
            (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 4))) (local.get $end))))
        (local.set $p (i32.add (i32.load offset=0 (local.get $dst)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a0))
        (v128.store offset=16 (local.get $p) (local.get $b0))
        (local.set $p (i32.add (i32.load offset=4 (local.get $dst)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a1))
        (v128.store offset=16 (local.get $p) (local.get $b1))
        (local.set $p (i32.add (i32.load offset=8 (local.get $dst)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a2))
        (v128.store offset=16 (local.get $p) (local.get $b2))
        (local.set $p (i32.add (i32.load offset=12 (local.get $dst)) (local.get $off)))
        (v128.store (local.get $p) (local.get $a3))
        (v128.store offset=16 (local.get $p) (local.get $b3))
        (local.set $off (i32.add (local.get $off) (i32.const 32)))
        (br $columns))))
)
