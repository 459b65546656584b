;; ChaCha20-Poly1305 (RFC 8439) for noise's transport frames (src/net/chacha), hand-written
;; WebAssembly: ChaCha20 four blocks at a time in SIMD lanes, Poly1305 in scalar i64, the two
;; interleaved in one loop. build_wasm.ts assembles this file with wabt and embeds the bytes in
;; _kernel_wasm.ts.
;;
;; The module owns two 64 KiB pages and never grows them (growing would detach the caller's
;; views). Page 0 is state; page 1 is the window the caller copies data through:
;;      0   64 B  ChaCha20 input block: "expand 32-byte k", key (caller), counter, nonce (caller)
;;     64   40 B  Poly1305 r as five 26-bit limbs (i64 each)
;;    104   40 B  Poly1305 accumulator h, five 26-bit limbs
;;    144   16 B  Poly1305 s, the second half of the one-time key
;;    160   32 B  5 * r1 .. 5 * r4, for the reduction mod 2^130 - 5
;;    192   16 B  a zero-padded last partial Poly1305 block
;;    256  256 B  keystream scratch for a last partial 256-byte step
;;    512   16 B  tag out (`tag`); 528: a received tag; 544: the length block (the caller's)
;;  65536  64 KiB the window
;;
;; One message: the caller writes key and nonce and calls begin(), then poly() over the additional
;; data, then seal() or open() over the text, poly() over the length block, and tag().
;; Text longer than the window goes through several seal() calls, or for opening poly() then
;; xor() in two passes (so nothing is decrypted before the tag is checked). Every call on a
;; segment but its last must cover whole 256-byte steps, which 64 KiB window steps guarantee.
;;
;; Why a kernel: noise's node:crypto path allocates two fresh 64 KiB buffers per sealed frame and
;; one per opened frame, and where first writes to fresh pages are slow (this project's VM: about
;; 12 us a page) those cost more than the cipher. Here nothing is allocated. It is not noise's
;; default: end to end it made no measurable difference (BENCHMARKS.md, "ChaCha20-Poly1305 for
;; noise").
(module
  (memory (export "memory") 2 2)
  (data (i32.const 0) "expand 32-byte k")

  ;; The kernel's one loop. For each of $steps 256-byte steps at $p: four keystream blocks
  ;; (counters c .. c+3 from word 12, which then advances by 4) XORed over the step in place, and
  ;; sixteen Poly1305 blocks absorbed from $q onwards (none when $skip is 10).
  ;;
  ;; ChaCha20: lane j of $xN is word N of block j, so a double round is eight vector quarter
  ;; rounds, and a 4x4 transpose per group of four words puts each block's bytes back in order.
  ;; Poly1305 (poly1305-donna's 26-bit limbs in i64): a block after the column round and one after
  ;; the diagonal round of the first eight double rounds. ChaCha20 keeps the vector units busy and
  ;; Poly1305 the scalar multiplier, so interleaved the two overlap: on this project's 2-core EPYC
  ;; (best of 150 samples) 64 KiB seals in 53 us, against 51 us for ChaCha20 alone plus 28 us for
  ;; Poly1305 alone. Four blocks of sixteen words spill a few vectors (x64 has 15 to allocate);
  ;; four blocks as rows instead (4 vectors each, lanes rotated for the diagonals) measured no
  ;; faster, nor did rotating by 8 and 16 with shifts instead of shuffles.
  ;; When opening, $q is $p: each step's blocks are absorbed before the step's stores at the end.
  (func $chacha (param $p i32) (param $q i32) (param $steps i32) (param $skip i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $x4 v128)
    (local $x5 v128) (local $x6 v128) (local $x7 v128) (local $x8 v128) (local $x9 v128)
    (local $x10 v128) (local $x11 v128) (local $x12 v128) (local $x13 v128) (local $x14 v128)
    (local $x15 v128)
    (local $ctr v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local $round i32)
    (local $h0 i64) (local $h1 i64) (local $h2 i64) (local $h3 i64) (local $h4 i64)
    (local $d0 i64) (local $d1 i64) (local $d2 i64) (local $d3 i64) (local $d4 i64) (local $c i64)
    (local.set $h0 (i64.load offset=104 (i32.const 0)))
    (local.set $h1 (i64.load offset=112 (i32.const 0)))
    (local.set $h2 (i64.load offset=120 (i32.const 0)))
    (local.set $h3 (i64.load offset=128 (i32.const 0)))
    (local.set $h4 (i64.load offset=136 (i32.const 0)))
    (loop $step
      (local.set $ctr
        (i32x4.add (v128.load32_splat offset=48 (i32.const 0)) (v128.const i32x4 0 1 2 3)))
      (local.set $x0 (v128.load32_splat offset=0 (i32.const 0)))
      (local.set $x1 (v128.load32_splat offset=4 (i32.const 0)))
      (local.set $x2 (v128.load32_splat offset=8 (i32.const 0)))
      (local.set $x3 (v128.load32_splat offset=12 (i32.const 0)))
      (local.set $x4 (v128.load32_splat offset=16 (i32.const 0)))
      (local.set $x5 (v128.load32_splat offset=20 (i32.const 0)))
      (local.set $x6 (v128.load32_splat offset=24 (i32.const 0)))
      (local.set $x7 (v128.load32_splat offset=28 (i32.const 0)))
      (local.set $x8 (v128.load32_splat offset=32 (i32.const 0)))
      (local.set $x9 (v128.load32_splat offset=36 (i32.const 0)))
      (local.set $x10 (v128.load32_splat offset=40 (i32.const 0)))
      (local.set $x11 (v128.load32_splat offset=44 (i32.const 0)))
      (local.set $x12 (local.get $ctr))
      (local.set $x13 (v128.load32_splat offset=52 (i32.const 0)))
      (local.set $x14 (v128.load32_splat offset=56 (i32.const 0)))
      (local.set $x15 (v128.load32_splat offset=60 (i32.const 0)))
      (local.set $round (i32.const 10))
      ;; Ten double rounds: columns, then diagonals (RFC 8439 section 2.3). Rotations by 16 and 8
      ;; are byte shuffles; by 12 and 7, two shifts and an or.
      (loop $double
        ;; quarter round (0, 4, 8, 12)
        (local.set $x0 (i32x4.add (local.get $x0) (local.get $x4)))
        (local.set $x12 (v128.xor (local.get $x12) (local.get $x0)))
        (local.set $x12
          (i8x16.shuffle 2 3 0 1 6 7 4 5 10 11 8 9 14 15 12 13 (local.get $x12) (local.get $x12)))
        (local.set $x8 (i32x4.add (local.get $x8) (local.get $x12)))
        (local.set $x4 (v128.xor (local.get $x4) (local.get $x8)))
        (local.set $x4
          (v128.or (i32x4.shl (local.get $x4) (i32.const 12))
            (i32x4.shr_u (local.get $x4) (i32.const 20))))
        (local.set $x0 (i32x4.add (local.get $x0) (local.get $x4)))
        (local.set $x12 (v128.xor (local.get $x12) (local.get $x0)))
        (local.set $x12
          (i8x16.shuffle 3 0 1 2 7 4 5 6 11 8 9 10 15 12 13 14 (local.get $x12) (local.get $x12)))
        (local.set $x8 (i32x4.add (local.get $x8) (local.get $x12)))
        (local.set $x4 (v128.xor (local.get $x4) (local.get $x8)))
        (local.set $x4
          (v128.or (i32x4.shl (local.get $x4) (i32.const 7))
            (i32x4.shr_u (local.get $x4) (i32.const 25))))
        ;; quarter round (1, 5, 9, 13)
        (local.set $x1 (i32x4.add (local.get $x1) (local.get $x5)))
        (local.set $x13 (v128.xor (local.get $x13) (local.get $x1)))
        (local.set $x13
          (i8x16.shuffle 2 3 0 1 6 7 4 5 10 11 8 9 14 15 12 13 (local.get $x13) (local.get $x13)))
        (local.set $x9 (i32x4.add (local.get $x9) (local.get $x13)))
        (local.set $x5 (v128.xor (local.get $x5) (local.get $x9)))
        (local.set $x5
          (v128.or (i32x4.shl (local.get $x5) (i32.const 12))
            (i32x4.shr_u (local.get $x5) (i32.const 20))))
        (local.set $x1 (i32x4.add (local.get $x1) (local.get $x5)))
        (local.set $x13 (v128.xor (local.get $x13) (local.get $x1)))
        (local.set $x13
          (i8x16.shuffle 3 0 1 2 7 4 5 6 11 8 9 10 15 12 13 14 (local.get $x13) (local.get $x13)))
        (local.set $x9 (i32x4.add (local.get $x9) (local.get $x13)))
        (local.set $x5 (v128.xor (local.get $x5) (local.get $x9)))
        (local.set $x5
          (v128.or (i32x4.shl (local.get $x5) (i32.const 7))
            (i32x4.shr_u (local.get $x5) (i32.const 25))))
        ;; quarter round (2, 6, 10, 14)
        (local.set $x2 (i32x4.add (local.get $x2) (local.get $x6)))
        (local.set $x14 (v128.xor (local.get $x14) (local.get $x2)))
        (local.set $x14
          (i8x16.shuffle 2 3 0 1 6 7 4 5 10 11 8 9 14 15 12 13 (local.get $x14) (local.get $x14)))
        (local.set $x10 (i32x4.add (local.get $x10) (local.get $x14)))
        (local.set $x6 (v128.xor (local.get $x6) (local.get $x10)))
        (local.set $x6
          (v128.or (i32x4.shl (local.get $x6) (i32.const 12))
            (i32x4.shr_u (local.get $x6) (i32.const 20))))
        (local.set $x2 (i32x4.add (local.get $x2) (local.get $x6)))
        (local.set $x14 (v128.xor (local.get $x14) (local.get $x2)))
        (local.set $x14
          (i8x16.shuffle 3 0 1 2 7 4 5 6 11 8 9 10 15 12 13 14 (local.get $x14) (local.get $x14)))
        (local.set $x10 (i32x4.add (local.get $x10) (local.get $x14)))
        (local.set $x6 (v128.xor (local.get $x6) (local.get $x10)))
        (local.set $x6
          (v128.or (i32x4.shl (local.get $x6) (i32.const 7))
            (i32x4.shr_u (local.get $x6) (i32.const 25))))
        ;; quarter round (3, 7, 11, 15)
        (local.set $x3 (i32x4.add (local.get $x3) (local.get $x7)))
        (local.set $x15 (v128.xor (local.get $x15) (local.get $x3)))
        (local.set $x15
          (i8x16.shuffle 2 3 0 1 6 7 4 5 10 11 8 9 14 15 12 13 (local.get $x15) (local.get $x15)))
        (local.set $x11 (i32x4.add (local.get $x11) (local.get $x15)))
        (local.set $x7 (v128.xor (local.get $x7) (local.get $x11)))
        (local.set $x7
          (v128.or (i32x4.shl (local.get $x7) (i32.const 12))
            (i32x4.shr_u (local.get $x7) (i32.const 20))))
        (local.set $x3 (i32x4.add (local.get $x3) (local.get $x7)))
        (local.set $x15 (v128.xor (local.get $x15) (local.get $x3)))
        (local.set $x15
          (i8x16.shuffle 3 0 1 2 7 4 5 6 11 8 9 10 15 12 13 14 (local.get $x15) (local.get $x15)))
        (local.set $x11 (i32x4.add (local.get $x11) (local.get $x15)))
        (local.set $x7 (v128.xor (local.get $x7) (local.get $x11)))
        (local.set $x7
          (v128.or (i32x4.shl (local.get $x7) (i32.const 7))
            (i32x4.shr_u (local.get $x7) (i32.const 25))))
        ;; one Poly1305 block from $q (as in $poly below)
        (if (i32.gt_u (local.get $round) (local.get $skip))
          (then
            (local.set $h0
              (i64.add (local.get $h0)
                (i64.and (i64.load32_u (local.get $q)) (i64.const 0x3ffffff))))
            (local.set $h1
              (i64.add (local.get $h1)
                (i64.and (i64.shr_u (i64.load32_u offset=3 (local.get $q)) (i64.const 2))
                  (i64.const 0x3ffffff))))
            (local.set $h2
              (i64.add (local.get $h2)
                (i64.and (i64.shr_u (i64.load32_u offset=6 (local.get $q)) (i64.const 4))
                  (i64.const 0x3ffffff))))
            (local.set $h3
              (i64.add (local.get $h3)
                (i64.and (i64.shr_u (i64.load32_u offset=9 (local.get $q)) (i64.const 6))
                  (i64.const 0x3ffffff))))
            (local.set $h4
              (i64.add (local.get $h4)
                (i64.or (i64.shr_u (i64.load32_u offset=12 (local.get $q)) (i64.const 8))
                  (i64.const 0x1000000))))
            (local.set $d0
              (i64.add
                (i64.add
                  (i64.add
                    (i64.add (i64.mul (local.get $h0) (i64.load offset=64 (i32.const 0)))
                      (i64.mul (local.get $h1) (i64.load offset=184 (i32.const 0))))
                    (i64.mul (local.get $h2) (i64.load offset=176 (i32.const 0))))
                  (i64.mul (local.get $h3) (i64.load offset=168 (i32.const 0))))
                (i64.mul (local.get $h4) (i64.load offset=160 (i32.const 0)))))
            (local.set $d1
              (i64.add
                (i64.add
                  (i64.add
                    (i64.add (i64.mul (local.get $h0) (i64.load offset=72 (i32.const 0)))
                      (i64.mul (local.get $h1) (i64.load offset=64 (i32.const 0))))
                    (i64.mul (local.get $h2) (i64.load offset=184 (i32.const 0))))
                  (i64.mul (local.get $h3) (i64.load offset=176 (i32.const 0))))
                (i64.mul (local.get $h4) (i64.load offset=168 (i32.const 0)))))
            (local.set $d2
              (i64.add
                (i64.add
                  (i64.add
                    (i64.add (i64.mul (local.get $h0) (i64.load offset=80 (i32.const 0)))
                      (i64.mul (local.get $h1) (i64.load offset=72 (i32.const 0))))
                    (i64.mul (local.get $h2) (i64.load offset=64 (i32.const 0))))
                  (i64.mul (local.get $h3) (i64.load offset=184 (i32.const 0))))
                (i64.mul (local.get $h4) (i64.load offset=176 (i32.const 0)))))
            (local.set $d3
              (i64.add
                (i64.add
                  (i64.add
                    (i64.add (i64.mul (local.get $h0) (i64.load offset=88 (i32.const 0)))
                      (i64.mul (local.get $h1) (i64.load offset=80 (i32.const 0))))
                    (i64.mul (local.get $h2) (i64.load offset=72 (i32.const 0))))
                  (i64.mul (local.get $h3) (i64.load offset=64 (i32.const 0))))
                (i64.mul (local.get $h4) (i64.load offset=184 (i32.const 0)))))
            (local.set $d4
              (i64.add
                (i64.add
                  (i64.add
                    (i64.add (i64.mul (local.get $h0) (i64.load offset=96 (i32.const 0)))
                      (i64.mul (local.get $h1) (i64.load offset=88 (i32.const 0))))
                    (i64.mul (local.get $h2) (i64.load offset=80 (i32.const 0))))
                  (i64.mul (local.get $h3) (i64.load offset=72 (i32.const 0))))
                (i64.mul (local.get $h4) (i64.load offset=64 (i32.const 0)))))
            (local.set $c (i64.shr_u (local.get $d0) (i64.const 26)))
            (local.set $h0 (i64.and (local.get $d0) (i64.const 0x3ffffff)))
            (local.set $d1 (i64.add (local.get $d1) (local.get $c)))
            (local.set $c (i64.shr_u (local.get $d1) (i64.const 26)))
            (local.set $h1 (i64.and (local.get $d1) (i64.const 0x3ffffff)))
            (local.set $d2 (i64.add (local.get $d2) (local.get $c)))
            (local.set $c (i64.shr_u (local.get $d2) (i64.const 26)))
            (local.set $h2 (i64.and (local.get $d2) (i64.const 0x3ffffff)))
            (local.set $d3 (i64.add (local.get $d3) (local.get $c)))
            (local.set $c (i64.shr_u (local.get $d3) (i64.const 26)))
            (local.set $h3 (i64.and (local.get $d3) (i64.const 0x3ffffff)))
            (local.set $d4 (i64.add (local.get $d4) (local.get $c)))
            (local.set $c (i64.shr_u (local.get $d4) (i64.const 26)))
            (local.set $h4 (i64.and (local.get $d4) (i64.const 0x3ffffff)))
            (local.set $h0 (i64.add (local.get $h0) (i64.mul (local.get $c) (i64.const 5))))
            (local.set $c (i64.shr_u (local.get $h0) (i64.const 26)))
            (local.set $h0 (i64.and (local.get $h0) (i64.const 0x3ffffff)))
            (local.set $h1 (i64.add (local.get $h1) (local.get $c)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))))
        ;; quarter round (0, 5, 10, 15)
        (local.set $x0 (i32x4.add (local.get $x0) (local.get $x5)))
        (local.set $x15 (v128.xor (local.get $x15) (local.get $x0)))
        (local.set $x15
          (i8x16.shuffle 2 3 0 1 6 7 4 5 10 11 8 9 14 15 12 13 (local.get $x15) (local.get $x15)))
        (local.set $x10 (i32x4.add (local.get $x10) (local.get $x15)))
        (local.set $x5 (v128.xor (local.get $x5) (local.get $x10)))
        (local.set $x5
          (v128.or (i32x4.shl (local.get $x5) (i32.const 12))
            (i32x4.shr_u (local.get $x5) (i32.const 20))))
        (local.set $x0 (i32x4.add (local.get $x0) (local.get $x5)))
        (local.set $x15 (v128.xor (local.get $x15) (local.get $x0)))
        (local.set $x15
          (i8x16.shuffle 3 0 1 2 7 4 5 6 11 8 9 10 15 12 13 14 (local.get $x15) (local.get $x15)))
        (local.set $x10 (i32x4.add (local.get $x10) (local.get $x15)))
        (local.set $x5 (v128.xor (local.get $x5) (local.get $x10)))
        (local.set $x5
          (v128.or (i32x4.shl (local.get $x5) (i32.const 7))
            (i32x4.shr_u (local.get $x5) (i32.const 25))))
        ;; quarter round (1, 6, 11, 12)
        (local.set $x1 (i32x4.add (local.get $x1) (local.get $x6)))
        (local.set $x12 (v128.xor (local.get $x12) (local.get $x1)))
        (local.set $x12
          (i8x16.shuffle 2 3 0 1 6 7 4 5 10 11 8 9 14 15 12 13 (local.get $x12) (local.get $x12)))
        (local.set $x11 (i32x4.add (local.get $x11) (local.get $x12)))
        (local.set $x6 (v128.xor (local.get $x6) (local.get $x11)))
        (local.set $x6
          (v128.or (i32x4.shl (local.get $x6) (i32.const 12))
            (i32x4.shr_u (local.get $x6) (i32.const 20))))
        (local.set $x1 (i32x4.add (local.get $x1) (local.get $x6)))
        (local.set $x12 (v128.xor (local.get $x12) (local.get $x1)))
        (local.set $x12
          (i8x16.shuffle 3 0 1 2 7 4 5 6 11 8 9 10 15 12 13 14 (local.get $x12) (local.get $x12)))
        (local.set $x11 (i32x4.add (local.get $x11) (local.get $x12)))
        (local.set $x6 (v128.xor (local.get $x6) (local.get $x11)))
        (local.set $x6
          (v128.or (i32x4.shl (local.get $x6) (i32.const 7))
            (i32x4.shr_u (local.get $x6) (i32.const 25))))
        ;; quarter round (2, 7, 8, 13)
        (local.set $x2 (i32x4.add (local.get $x2) (local.get $x7)))
        (local.set $x13 (v128.xor (local.get $x13) (local.get $x2)))
        (local.set $x13
          (i8x16.shuffle 2 3 0 1 6 7 4 5 10 11 8 9 14 15 12 13 (local.get $x13) (local.get $x13)))
        (local.set $x8 (i32x4.add (local.get $x8) (local.get $x13)))
        (local.set $x7 (v128.xor (local.get $x7) (local.get $x8)))
        (local.set $x7
          (v128.or (i32x4.shl (local.get $x7) (i32.const 12))
            (i32x4.shr_u (local.get $x7) (i32.const 20))))
        (local.set $x2 (i32x4.add (local.get $x2) (local.get $x7)))
        (local.set $x13 (v128.xor (local.get $x13) (local.get $x2)))
        (local.set $x13
          (i8x16.shuffle 3 0 1 2 7 4 5 6 11 8 9 10 15 12 13 14 (local.get $x13) (local.get $x13)))
        (local.set $x8 (i32x4.add (local.get $x8) (local.get $x13)))
        (local.set $x7 (v128.xor (local.get $x7) (local.get $x8)))
        (local.set $x7
          (v128.or (i32x4.shl (local.get $x7) (i32.const 7))
            (i32x4.shr_u (local.get $x7) (i32.const 25))))
        ;; quarter round (3, 4, 9, 14)
        (local.set $x3 (i32x4.add (local.get $x3) (local.get $x4)))
        (local.set $x14 (v128.xor (local.get $x14) (local.get $x3)))
        (local.set $x14
          (i8x16.shuffle 2 3 0 1 6 7 4 5 10 11 8 9 14 15 12 13 (local.get $x14) (local.get $x14)))
        (local.set $x9 (i32x4.add (local.get $x9) (local.get $x14)))
        (local.set $x4 (v128.xor (local.get $x4) (local.get $x9)))
        (local.set $x4
          (v128.or (i32x4.shl (local.get $x4) (i32.const 12))
            (i32x4.shr_u (local.get $x4) (i32.const 20))))
        (local.set $x3 (i32x4.add (local.get $x3) (local.get $x4)))
        (local.set $x14 (v128.xor (local.get $x14) (local.get $x3)))
        (local.set $x14
          (i8x16.shuffle 3 0 1 2 7 4 5 6 11 8 9 10 15 12 13 14 (local.get $x14) (local.get $x14)))
        (local.set $x9 (i32x4.add (local.get $x9) (local.get $x14)))
        (local.set $x4 (v128.xor (local.get $x4) (local.get $x9)))
        (local.set $x4
          (v128.or (i32x4.shl (local.get $x4) (i32.const 7))
            (i32x4.shr_u (local.get $x4) (i32.const 25))))
        ;; one Poly1305 block from $q (as in $poly below)
        (if (i32.gt_u (local.get $round) (local.get $skip))
          (then
            (local.set $h0
              (i64.add (local.get $h0)
                (i64.and (i64.load32_u (local.get $q)) (i64.const 0x3ffffff))))
            (local.set $h1
              (i64.add (local.get $h1)
                (i64.and (i64.shr_u (i64.load32_u offset=3 (local.get $q)) (i64.const 2))
                  (i64.const 0x3ffffff))))
            (local.set $h2
              (i64.add (local.get $h2)
                (i64.and (i64.shr_u (i64.load32_u offset=6 (local.get $q)) (i64.const 4))
                  (i64.const 0x3ffffff))))
            (local.set $h3
              (i64.add (local.get $h3)
                (i64.and (i64.shr_u (i64.load32_u offset=9 (local.get $q)) (i64.const 6))
                  (i64.const 0x3ffffff))))
            (local.set $h4
              (i64.add (local.get $h4)
                (i64.or (i64.shr_u (i64.load32_u offset=12 (local.get $q)) (i64.const 8))
                  (i64.const 0x1000000))))
            (local.set $d0
              (i64.add
                (i64.add
                  (i64.add
                    (i64.add (i64.mul (local.get $h0) (i64.load offset=64 (i32.const 0)))
                      (i64.mul (local.get $h1) (i64.load offset=184 (i32.const 0))))
                    (i64.mul (local.get $h2) (i64.load offset=176 (i32.const 0))))
                  (i64.mul (local.get $h3) (i64.load offset=168 (i32.const 0))))
                (i64.mul (local.get $h4) (i64.load offset=160 (i32.const 0)))))
            (local.set $d1
              (i64.add
                (i64.add
                  (i64.add
                    (i64.add (i64.mul (local.get $h0) (i64.load offset=72 (i32.const 0)))
                      (i64.mul (local.get $h1) (i64.load offset=64 (i32.const 0))))
                    (i64.mul (local.get $h2) (i64.load offset=184 (i32.const 0))))
                  (i64.mul (local.get $h3) (i64.load offset=176 (i32.const 0))))
                (i64.mul (local.get $h4) (i64.load offset=168 (i32.const 0)))))
            (local.set $d2
              (i64.add
                (i64.add
                  (i64.add
                    (i64.add (i64.mul (local.get $h0) (i64.load offset=80 (i32.const 0)))
                      (i64.mul (local.get $h1) (i64.load offset=72 (i32.const 0))))
                    (i64.mul (local.get $h2) (i64.load offset=64 (i32.const 0))))
                  (i64.mul (local.get $h3) (i64.load offset=184 (i32.const 0))))
                (i64.mul (local.get $h4) (i64.load offset=176 (i32.const 0)))))
            (local.set $d3
              (i64.add
                (i64.add
                  (i64.add
                    (i64.add (i64.mul (local.get $h0) (i64.load offset=88 (i32.const 0)))
                      (i64.mul (local.get $h1) (i64.load offset=80 (i32.const 0))))
                    (i64.mul (local.get $h2) (i64.load offset=72 (i32.const 0))))
                  (i64.mul (local.get $h3) (i64.load offset=64 (i32.const 0))))
                (i64.mul (local.get $h4) (i64.load offset=184 (i32.const 0)))))
            (local.set $d4
              (i64.add
                (i64.add
                  (i64.add
                    (i64.add (i64.mul (local.get $h0) (i64.load offset=96 (i32.const 0)))
                      (i64.mul (local.get $h1) (i64.load offset=88 (i32.const 0))))
                    (i64.mul (local.get $h2) (i64.load offset=80 (i32.const 0))))
                  (i64.mul (local.get $h3) (i64.load offset=72 (i32.const 0))))
                (i64.mul (local.get $h4) (i64.load offset=64 (i32.const 0)))))
            (local.set $c (i64.shr_u (local.get $d0) (i64.const 26)))
            (local.set $h0 (i64.and (local.get $d0) (i64.const 0x3ffffff)))
            (local.set $d1 (i64.add (local.get $d1) (local.get $c)))
            (local.set $c (i64.shr_u (local.get $d1) (i64.const 26)))
            (local.set $h1 (i64.and (local.get $d1) (i64.const 0x3ffffff)))
            (local.set $d2 (i64.add (local.get $d2) (local.get $c)))
            (local.set $c (i64.shr_u (local.get $d2) (i64.const 26)))
            (local.set $h2 (i64.and (local.get $d2) (i64.const 0x3ffffff)))
            (local.set $d3 (i64.add (local.get $d3) (local.get $c)))
            (local.set $c (i64.shr_u (local.get $d3) (i64.const 26)))
            (local.set $h3 (i64.and (local.get $d3) (i64.const 0x3ffffff)))
            (local.set $d4 (i64.add (local.get $d4) (local.get $c)))
            (local.set $c (i64.shr_u (local.get $d4) (i64.const 26)))
            (local.set $h4 (i64.and (local.get $d4) (i64.const 0x3ffffff)))
            (local.set $h0 (i64.add (local.get $h0) (i64.mul (local.get $c) (i64.const 5))))
            (local.set $c (i64.shr_u (local.get $h0) (i64.const 26)))
            (local.set $h0 (i64.and (local.get $h0) (i64.const 0x3ffffff)))
            (local.set $h1 (i64.add (local.get $h1) (local.get $c)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))))
        (br_if $double (local.tee $round (i32.sub (local.get $round) (i32.const 1)))))
      ;; Add the input block (RFC 8439 section 2.3), then XOR each block's 64 bytes over the step.
      (local.set $x0 (i32x4.add (local.get $x0) (v128.load32_splat offset=0 (i32.const 0))))
      (local.set $x1 (i32x4.add (local.get $x1) (v128.load32_splat offset=4 (i32.const 0))))
      (local.set $x2 (i32x4.add (local.get $x2) (v128.load32_splat offset=8 (i32.const 0))))
      (local.set $x3 (i32x4.add (local.get $x3) (v128.load32_splat offset=12 (i32.const 0))))
      (local.set $x4 (i32x4.add (local.get $x4) (v128.load32_splat offset=16 (i32.const 0))))
      (local.set $x5 (i32x4.add (local.get $x5) (v128.load32_splat offset=20 (i32.const 0))))
      (local.set $x6 (i32x4.add (local.get $x6) (v128.load32_splat offset=24 (i32.const 0))))
      (local.set $x7 (i32x4.add (local.get $x7) (v128.load32_splat offset=28 (i32.const 0))))
      (local.set $x8 (i32x4.add (local.get $x8) (v128.load32_splat offset=32 (i32.const 0))))
      (local.set $x9 (i32x4.add (local.get $x9) (v128.load32_splat offset=36 (i32.const 0))))
      (local.set $x10 (i32x4.add (local.get $x10) (v128.load32_splat offset=40 (i32.const 0))))
      (local.set $x11 (i32x4.add (local.get $x11) (v128.load32_splat offset=44 (i32.const 0))))
      (local.set $x12 (i32x4.add (local.get $x12) (local.get $ctr)))
      (local.set $x13 (i32x4.add (local.get $x13) (v128.load32_splat offset=52 (i32.const 0))))
      (local.set $x14 (i32x4.add (local.get $x14) (v128.load32_splat offset=56 (i32.const 0))))
      (local.set $x15 (i32x4.add (local.get $x15) (v128.load32_splat offset=60 (i32.const 0))))
      ;; words 0..3 of the four blocks
      (local.set $t0
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x0) (local.get $x1)))
      (local.set $t1
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x2) (local.get $x3)))
      (local.set $t2
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x0)
          (local.get $x1)))
      (local.set $t3
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x2)
          (local.get $x3)))
      (v128.store offset=0 (local.get $p) (v128.xor (v128.load offset=0 (local.get $p))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1))))
      (v128.store offset=64 (local.get $p) (v128.xor (v128.load offset=64 (local.get $p))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0)
          (local.get $t1))))
      (v128.store offset=128 (local.get $p) (v128.xor (v128.load offset=128 (local.get $p))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3))))
      (v128.store offset=192 (local.get $p) (v128.xor (v128.load offset=192 (local.get $p))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2)
          (local.get $t3))))
      ;; words 4..7 of the four blocks
      (local.set $t0
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x4) (local.get $x5)))
      (local.set $t1
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x6) (local.get $x7)))
      (local.set $t2
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x4)
          (local.get $x5)))
      (local.set $t3
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x6)
          (local.get $x7)))
      (v128.store offset=16 (local.get $p) (v128.xor (v128.load offset=16 (local.get $p))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1))))
      (v128.store offset=80 (local.get $p) (v128.xor (v128.load offset=80 (local.get $p))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0)
          (local.get $t1))))
      (v128.store offset=144 (local.get $p) (v128.xor (v128.load offset=144 (local.get $p))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3))))
      (v128.store offset=208 (local.get $p) (v128.xor (v128.load offset=208 (local.get $p))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2)
          (local.get $t3))))
      ;; words 8..11 of the four blocks
      (local.set $t0
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x8) (local.get $x9)))
      (local.set $t1
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x10) (local.get $x11)))
      (local.set $t2
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x8)
          (local.get $x9)))
      (local.set $t3
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x10)
          (local.get $x11)))
      (v128.store offset=32 (local.get $p) (v128.xor (v128.load offset=32 (local.get $p))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1))))
      (v128.store offset=96 (local.get $p) (v128.xor (v128.load offset=96 (local.get $p))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0)
          (local.get $t1))))
      (v128.store offset=160 (local.get $p) (v128.xor (v128.load offset=160 (local.get $p))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3))))
      (v128.store offset=224 (local.get $p) (v128.xor (v128.load offset=224 (local.get $p))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2)
          (local.get $t3))))
      ;; words 12..15 of the four blocks
      (local.set $t0
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x12) (local.get $x13)))
      (local.set $t1
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x14) (local.get $x15)))
      (local.set $t2
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x12)
          (local.get $x13)))
      (local.set $t3
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x14)
          (local.get $x15)))
      (v128.store offset=48 (local.get $p) (v128.xor (v128.load offset=48 (local.get $p))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1))))
      (v128.store offset=112 (local.get $p) (v128.xor (v128.load offset=112 (local.get $p))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0)
          (local.get $t1))))
      (v128.store offset=176 (local.get $p) (v128.xor (v128.load offset=176 (local.get $p))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3))))
      (v128.store offset=240 (local.get $p) (v128.xor (v128.load offset=240 (local.get $p))
        (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2)
          (local.get $t3))))
      (i32.store offset=48 (i32.const 0) (i32.add (i32.load offset=48 (i32.const 0)) (i32.const 4)))
      (local.set $p (i32.add (local.get $p) (i32.const 256)))
      (br_if $step (local.tee $steps (i32.sub (local.get $steps) (i32.const 1)))))
    (i64.store offset=104 (i32.const 0) (local.get $h0))
    (i64.store offset=112 (i32.const 0) (local.get $h1))
    (i64.store offset=120 (i32.const 0) (local.get $h2))
    (i64.store offset=128 (i32.const 0) (local.get $h3))
    (i64.store offset=136 (i32.const 0) (local.get $h4)))

  ;; XORs the keystream over $len bytes at $p, in place. A last step shorter than 256 bytes goes
  ;; through the scratch; the counter then advances by the blocks that step used.
  (func $xor (export "xor") (param $p i32) (param $len i32)
    (if (i32.ge_u (local.get $len) (i32.const 256))
      (then
        (call $chacha (local.get $p) (i32.const 0) (i32.shr_u (local.get $len) (i32.const 8))
          (i32.const 10))
        (local.set $p (i32.add (local.get $p) (i32.and (local.get $len) (i32.const -256))))
        (local.set $len (i32.and (local.get $len) (i32.const 255)))))
    (if (local.get $len)
      (then
        (memory.copy (i32.const 256) (local.get $p) (local.get $len))
        (call $chacha (i32.const 256) (i32.const 0) (i32.const 1) (i32.const 10))
        (memory.copy (local.get $p) (i32.const 256) (local.get $len))
        (i32.store offset=48 (i32.const 0)
          (i32.add
            (i32.sub (i32.load offset=48 (i32.const 0)) (i32.const 4))
            (i32.shr_u (i32.add (local.get $len) (i32.const 63)) (i32.const 6)))))))

  ;; Absorbs $len bytes at $p into h. A last partial block is zero-padded to 16 bytes and still
  ;; gets the 2^128 bit: the AEAD pads each segment with zeros (RFC 8439 section 2.8).
  (func $poly (export "poly") (param $p i32) (param $len i32)
    (local $h0 i64) (local $h1 i64) (local $h2 i64) (local $h3 i64) (local $h4 i64)
    (local $d0 i64) (local $d1 i64) (local $d2 i64) (local $d3 i64) (local $d4 i64) (local $c i64)
    (local.set $h0 (i64.load offset=104 (i32.const 0)))
    (local.set $h1 (i64.load offset=112 (i32.const 0)))
    (local.set $h2 (i64.load offset=120 (i32.const 0)))
    (local.set $h3 (i64.load offset=128 (i32.const 0)))
    (local.set $h4 (i64.load offset=136 (i32.const 0)))
    (block $done
      (loop $blocks
        (if (i32.lt_u (local.get $len) (i32.const 16))
          (then
            (br_if $done (i32.eqz (local.get $len)))
            (v128.store offset=192 (i32.const 0) (v128.const i64x2 0 0))
            (memory.copy (i32.const 192) (local.get $p) (local.get $len))
            (local.set $p (i32.const 192))
            (local.set $len (i32.const 16))))
        ;; h = (h + m + 2^128) * r, partially reduced mod 2^130 - 5: limbs above 4 fold back
        ;; times 5. Every product is under 2^58 and each sum of five under 2^61.
        (local.set $h0
          (i64.add (local.get $h0) (i64.and (i64.load32_u (local.get $p)) (i64.const 0x3ffffff))))
        (local.set $h1
          (i64.add (local.get $h1)
            (i64.and (i64.shr_u (i64.load32_u offset=3 (local.get $p)) (i64.const 2))
              (i64.const 0x3ffffff))))
        (local.set $h2
          (i64.add (local.get $h2)
            (i64.and (i64.shr_u (i64.load32_u offset=6 (local.get $p)) (i64.const 4))
              (i64.const 0x3ffffff))))
        (local.set $h3
          (i64.add (local.get $h3)
            (i64.and (i64.shr_u (i64.load32_u offset=9 (local.get $p)) (i64.const 6))
              (i64.const 0x3ffffff))))
        (local.set $h4
          (i64.add (local.get $h4)
            (i64.or (i64.shr_u (i64.load32_u offset=12 (local.get $p)) (i64.const 8))
              (i64.const 0x1000000))))
        (local.set $d0
          (i64.add
            (i64.add
              (i64.add
                (i64.add (i64.mul (local.get $h0) (i64.load offset=64 (i32.const 0)))
                  (i64.mul (local.get $h1) (i64.load offset=184 (i32.const 0))))
                (i64.mul (local.get $h2) (i64.load offset=176 (i32.const 0))))
              (i64.mul (local.get $h3) (i64.load offset=168 (i32.const 0))))
            (i64.mul (local.get $h4) (i64.load offset=160 (i32.const 0)))))
        (local.set $d1
          (i64.add
            (i64.add
              (i64.add
                (i64.add (i64.mul (local.get $h0) (i64.load offset=72 (i32.const 0)))
                  (i64.mul (local.get $h1) (i64.load offset=64 (i32.const 0))))
                (i64.mul (local.get $h2) (i64.load offset=184 (i32.const 0))))
              (i64.mul (local.get $h3) (i64.load offset=176 (i32.const 0))))
            (i64.mul (local.get $h4) (i64.load offset=168 (i32.const 0)))))
        (local.set $d2
          (i64.add
            (i64.add
              (i64.add
                (i64.add (i64.mul (local.get $h0) (i64.load offset=80 (i32.const 0)))
                  (i64.mul (local.get $h1) (i64.load offset=72 (i32.const 0))))
                (i64.mul (local.get $h2) (i64.load offset=64 (i32.const 0))))
              (i64.mul (local.get $h3) (i64.load offset=184 (i32.const 0))))
            (i64.mul (local.get $h4) (i64.load offset=176 (i32.const 0)))))
        (local.set $d3
          (i64.add
            (i64.add
              (i64.add
                (i64.add (i64.mul (local.get $h0) (i64.load offset=88 (i32.const 0)))
                  (i64.mul (local.get $h1) (i64.load offset=80 (i32.const 0))))
                (i64.mul (local.get $h2) (i64.load offset=72 (i32.const 0))))
              (i64.mul (local.get $h3) (i64.load offset=64 (i32.const 0))))
            (i64.mul (local.get $h4) (i64.load offset=184 (i32.const 0)))))
        (local.set $d4
          (i64.add
            (i64.add
              (i64.add
                (i64.add (i64.mul (local.get $h0) (i64.load offset=96 (i32.const 0)))
                  (i64.mul (local.get $h1) (i64.load offset=88 (i32.const 0))))
                (i64.mul (local.get $h2) (i64.load offset=80 (i32.const 0))))
              (i64.mul (local.get $h3) (i64.load offset=72 (i32.const 0))))
            (i64.mul (local.get $h4) (i64.load offset=64 (i32.const 0)))))
        (local.set $c (i64.shr_u (local.get $d0) (i64.const 26)))
        (local.set $h0 (i64.and (local.get $d0) (i64.const 0x3ffffff)))
        (local.set $d1 (i64.add (local.get $d1) (local.get $c)))
        (local.set $c (i64.shr_u (local.get $d1) (i64.const 26)))
        (local.set $h1 (i64.and (local.get $d1) (i64.const 0x3ffffff)))
        (local.set $d2 (i64.add (local.get $d2) (local.get $c)))
        (local.set $c (i64.shr_u (local.get $d2) (i64.const 26)))
        (local.set $h2 (i64.and (local.get $d2) (i64.const 0x3ffffff)))
        (local.set $d3 (i64.add (local.get $d3) (local.get $c)))
        (local.set $c (i64.shr_u (local.get $d3) (i64.const 26)))
        (local.set $h3 (i64.and (local.get $d3) (i64.const 0x3ffffff)))
        (local.set $d4 (i64.add (local.get $d4) (local.get $c)))
        (local.set $c (i64.shr_u (local.get $d4) (i64.const 26)))
        (local.set $h4 (i64.and (local.get $d4) (i64.const 0x3ffffff)))
        (local.set $h0 (i64.add (local.get $h0) (i64.mul (local.get $c) (i64.const 5))))
        (local.set $c (i64.shr_u (local.get $h0) (i64.const 26)))
        (local.set $h0 (i64.and (local.get $h0) (i64.const 0x3ffffff)))
        (local.set $h1 (i64.add (local.get $h1) (local.get $c)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $len (i32.sub (local.get $len) (i32.const 16)))
        (br $blocks)))
    (i64.store offset=104 (i32.const 0) (local.get $h0))
    (i64.store offset=112 (i32.const 0) (local.get $h1))
    (i64.store offset=120 (i32.const 0) (local.get $h2))
    (i64.store offset=128 (i32.const 0) (local.get $h3))
    (i64.store offset=136 (i32.const 0) (local.get $h4)))

  ;; Encrypts and authenticates $len bytes at $p in place. Step 0 is encrypted alone; each later
  ;; step is encrypted while the previous one's ciphertext is absorbed; the last step's after.
  (func (export "seal") (param $p i32) (param $len i32)
    (local $steps i32)
    (local.set $steps (i32.shr_u (local.get $len) (i32.const 8)))
    (if (local.get $steps)
      (then
        (call $chacha (local.get $p) (i32.const 0) (i32.const 1) (i32.const 10))
        (if (i32.gt_u (local.get $steps) (i32.const 1))
          (then
            (call $chacha (i32.add (local.get $p) (i32.const 256)) (local.get $p)
              (i32.sub (local.get $steps) (i32.const 1)) (i32.const 2))))
        (call $poly
          (i32.add (local.get $p)
            (i32.shl (i32.sub (local.get $steps) (i32.const 1)) (i32.const 8)))
          (i32.const 256))))
    (local.set $p (i32.add (local.get $p) (i32.shl (local.get $steps) (i32.const 8))))
    (local.set $len (i32.and (local.get $len) (i32.const 255)))
    (call $xor (local.get $p) (local.get $len))
    (call $poly (local.get $p) (local.get $len)))

  ;; Authenticates and decrypts $len bytes at $p in place, each step absorbed before it is
  ;; decrypted. The caller checks the tag before it lets any of the plaintext out.
  (func (export "open") (param $p i32) (param $len i32)
    (local $steps i32)
    (local.set $steps (i32.shr_u (local.get $len) (i32.const 8)))
    (if (local.get $steps)
      (then (call $chacha (local.get $p) (local.get $p) (local.get $steps) (i32.const 2))))
    (local.set $p (i32.add (local.get $p) (i32.shl (local.get $steps) (i32.const 8))))
    (local.set $len (i32.and (local.get $len) (i32.const 255)))
    (call $poly (local.get $p) (local.get $len))
    (call $xor (local.get $p) (local.get $len)))

  ;; Starts a message: counter 0 gives the Poly1305 one-time key (RFC 8439 section 2.6), and the
  ;; counter is left at 1 for the text.
  (func (export "begin")
    (i32.store offset=48 (i32.const 0) (i32.const 0))
    (memory.fill (i32.const 256) (i32.const 0) (i32.const 64))
    (call $xor (i32.const 256) (i32.const 64))
    (call $polyKey))

  ;; Starts Poly1305 with the 32-byte one-time key at 256 (the scratch): clamps r into 26-bit
  ;; limbs (poly1305-donna), keeps 5r and s, zeroes h, then wipes the scratch, where the key has
  ;; no business outliving this call.
  (func $polyKey
    (i64.store offset=64 (i32.const 0)
      (i64.and (i64.load32_u offset=256 (i32.const 0)) (i64.const 0x3ffffff)))
    (i64.store offset=72 (i32.const 0)
      (i64.and (i64.shr_u (i64.load32_u offset=259 (i32.const 0)) (i64.const 2))
        (i64.const 0x3ffff03)))
    (i64.store offset=80 (i32.const 0)
      (i64.and (i64.shr_u (i64.load32_u offset=262 (i32.const 0)) (i64.const 4))
        (i64.const 0x3ffc0ff)))
    (i64.store offset=88 (i32.const 0)
      (i64.and (i64.shr_u (i64.load32_u offset=265 (i32.const 0)) (i64.const 6))
        (i64.const 0x3f03fff)))
    (i64.store offset=96 (i32.const 0)
      (i64.and (i64.shr_u (i64.load32_u offset=268 (i32.const 0)) (i64.const 8))
        (i64.const 0x00fffff)))
    (i64.store offset=160 (i32.const 0) (i64.mul (i64.load offset=72 (i32.const 0)) (i64.const 5)))
    (i64.store offset=168 (i32.const 0) (i64.mul (i64.load offset=80 (i32.const 0)) (i64.const 5)))
    (i64.store offset=176 (i32.const 0) (i64.mul (i64.load offset=88 (i32.const 0)) (i64.const 5)))
    (i64.store offset=184 (i32.const 0) (i64.mul (i64.load offset=96 (i32.const 0)) (i64.const 5)))
    (memory.fill (i32.const 104) (i32.const 0) (i32.const 40))
    (v128.store offset=144 (i32.const 0) (v128.load offset=272 (i32.const 0)))
    (memory.fill (i32.const 256) (i32.const 0) (i32.const 256)))

  ;; Writes the tag (h mod 2^130 - 5, plus s, mod 2^128) at $out. The choice between h and
  ;; h - p is a mask, not a branch, so the time does not depend on h.
  (func (export "tag") (param $out i32)
    (local $h0 i64) (local $h1 i64) (local $h2 i64) (local $h3 i64) (local $h4 i64)
    (local $g0 i64) (local $g1 i64) (local $g2 i64) (local $g3 i64) (local $g4 i64)
    (local $c i64) (local $keep i64) (local $f i64)
    (local.set $h0 (i64.load offset=104 (i32.const 0)))
    (local.set $h1 (i64.load offset=112 (i32.const 0)))
    (local.set $h2 (i64.load offset=120 (i32.const 0)))
    (local.set $h3 (i64.load offset=128 (i32.const 0)))
    (local.set $h4 (i64.load offset=136 (i32.const 0)))
    ;; Full carry.
    (local.set $c (i64.shr_u (local.get $h1) (i64.const 26)))
    (local.set $h1 (i64.and (local.get $h1) (i64.const 0x3ffffff)))
    (local.set $h2 (i64.add (local.get $h2) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h2) (i64.const 26)))
    (local.set $h2 (i64.and (local.get $h2) (i64.const 0x3ffffff)))
    (local.set $h3 (i64.add (local.get $h3) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h3) (i64.const 26)))
    (local.set $h3 (i64.and (local.get $h3) (i64.const 0x3ffffff)))
    (local.set $h4 (i64.add (local.get $h4) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h4) (i64.const 26)))
    (local.set $h4 (i64.and (local.get $h4) (i64.const 0x3ffffff)))
    (local.set $h0 (i64.add (local.get $h0) (i64.mul (local.get $c) (i64.const 5))))
    (local.set $c (i64.shr_u (local.get $h0) (i64.const 26)))
    (local.set $h0 (i64.and (local.get $h0) (i64.const 0x3ffffff)))
    (local.set $h1 (i64.add (local.get $h1) (local.get $c)))
    ;; g = h + 5 - 2^130; g4 is negative exactly when h < p.
    (local.set $g0 (i64.add (local.get $h0) (i64.const 5)))
    (local.set $c (i64.shr_u (local.get $g0) (i64.const 26)))
    (local.set $g0 (i64.and (local.get $g0) (i64.const 0x3ffffff)))
    (local.set $g1 (i64.add (local.get $h1) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $g1) (i64.const 26)))
    (local.set $g1 (i64.and (local.get $g1) (i64.const 0x3ffffff)))
    (local.set $g2 (i64.add (local.get $h2) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $g2) (i64.const 26)))
    (local.set $g2 (i64.and (local.get $g2) (i64.const 0x3ffffff)))
    (local.set $g3 (i64.add (local.get $h3) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $g3) (i64.const 26)))
    (local.set $g3 (i64.and (local.get $g3) (i64.const 0x3ffffff)))
    (local.set $g4 (i64.sub (i64.add (local.get $h4) (local.get $c)) (i64.const 0x4000000)))
    ;; All ones when h < p (keep h), else zero (take g).
    (local.set $keep (i64.shr_s (local.get $g4) (i64.const 63)))
    (local.set $h0 (i64.or (i64.and (local.get $h0) (local.get $keep))
      (i64.and (local.get $g0) (i64.xor (local.get $keep) (i64.const -1)))))
    (local.set $h1 (i64.or (i64.and (local.get $h1) (local.get $keep))
      (i64.and (local.get $g1) (i64.xor (local.get $keep) (i64.const -1)))))
    (local.set $h2 (i64.or (i64.and (local.get $h2) (local.get $keep))
      (i64.and (local.get $g2) (i64.xor (local.get $keep) (i64.const -1)))))
    (local.set $h3 (i64.or (i64.and (local.get $h3) (local.get $keep))
      (i64.and (local.get $g3) (i64.xor (local.get $keep) (i64.const -1)))))
    (local.set $h4 (i64.or (i64.and (local.get $h4) (local.get $keep))
      (i64.and (local.get $g4) (i64.xor (local.get $keep) (i64.const -1)))))
    ;; donna's first carry can leave h1 at exactly 2^26; carry once more so every limb is under
    ;; 2^26 and the repacking below may use or.
    (local.set $c (i64.shr_u (local.get $h1) (i64.const 26)))
    (local.set $h1 (i64.and (local.get $h1) (i64.const 0x3ffffff)))
    (local.set $h2 (i64.add (local.get $h2) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h2) (i64.const 26)))
    (local.set $h2 (i64.and (local.get $h2) (i64.const 0x3ffffff)))
    (local.set $h3 (i64.add (local.get $h3) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h3) (i64.const 26)))
    (local.set $h3 (i64.and (local.get $h3) (i64.const 0x3ffffff)))
    (local.set $h4 (i64.add (local.get $h4) (local.get $c)))
    ;; Repack into four 32-bit words, add s with carries, store little-endian.
    (local.set $f (i64.add
      (i64.and (i64.or (local.get $h0) (i64.shl (local.get $h1) (i64.const 26)))
        (i64.const 0xffffffff))
      (i64.load32_u offset=144 (i32.const 0))))
    (i64.store32 (local.get $out) (local.get $f))
    (local.set $f (i64.add (i64.add
      (i64.and (i64.or (i64.shr_u (local.get $h1) (i64.const 6))
        (i64.shl (local.get $h2) (i64.const 20))) (i64.const 0xffffffff))
      (i64.load32_u offset=148 (i32.const 0))) (i64.shr_u (local.get $f) (i64.const 32))))
    (i64.store32 offset=4 (local.get $out) (local.get $f))
    (local.set $f (i64.add (i64.add
      (i64.and (i64.or (i64.shr_u (local.get $h2) (i64.const 12))
        (i64.shl (local.get $h3) (i64.const 14))) (i64.const 0xffffffff))
      (i64.load32_u offset=152 (i32.const 0))) (i64.shr_u (local.get $f) (i64.const 32))))
    (i64.store32 offset=8 (local.get $out) (local.get $f))
    (local.set $f (i64.add (i64.add
      (i64.and (i64.or (i64.shr_u (local.get $h3) (i64.const 18))
        (i64.shl (local.get $h4) (i64.const 8))) (i64.const 0xffffffff))
      (i64.load32_u offset=156 (i32.const 0))) (i64.shr_u (local.get $f) (i64.const 32))))
    (i64.store32 offset=12 (local.get $out) (local.get $f)))

  ;; 1 when the 16 bytes at $a and $b are equal, else 0, in time that does not depend on them.
  (func (export "verify") (param $a i32) (param $b i32) (result i32)
    (i64.eqz (i64.or
      (i64.xor (i64.load (local.get $a)) (i64.load (local.get $b)))
      (i64.xor (i64.load offset=8 (local.get $a)) (i64.load offset=8 (local.get $b))))))
)
