;; The fast line formatter (see line-format-wasm.ts, which lays out the memory and calls it).
;; Assembled into bytes by wabt's wat2wasm when the code is bundled or transpiled
;; (wat-to-wasm.ts, a Bun macro): edit this text, never bytes.
;;
;; format copies every complete line of the input [inStart, inEnd) to the output at outStart,
;; each behind the prefix [pfx, pfx + pfxLen), 16 bytes at a time with SIMD loads and stores,
;; finding newlines with a vector compare. It stops
;;   - at the end of the input, or where only a partial line (no newline) is left, or
;;   - once the output passes outLimit (the caller keeps room for one more line after it),
;; writes the end of its output at address 0 and returns the start of the first line it did
;; not copy (inStart when none).
;;
;; Reads may run 15 bytes past inEnd and writes 15 bytes past a line or a prefix: the caller's
;; regions carry that slack. A newline found past inEnd is ignored, and bytes written past a
;; line are overwritten by the next prefix.
(module
  ;; The caller's memory: its layout (input, output, prefix, slack) lives in line-format-wasm.ts.
  (import "env" "memory" (memory 1))

  (func (export "format")
    (param $inStart i32) (param $inEnd i32) (param $outStart i32) (param $outLimit i32)
    (param $pfx i32) (param $pfxLen i32)
    (result i32)
    (local $s i32)   ;; start of the current line in the input
    (local $o i32)   ;; output position: where the current line's prefix goes
    (local $i i32)   ;; offset into the prefix
    (local $o2 i32)  ;; where the current line's bytes go (after its prefix)
    (local $p i32)   ;; the input block being scanned
    (local $m i32)   ;; bitmask of the newlines in that block
    (local $nl i32)  ;; position of the first newline in the block
    (local $v v128)  ;; the block
    (local.set $s (local.get $inStart))
    (local.set $o (local.get $outStart))
    (block $done
      (loop $lines
        (br_if $done (i32.ge_u (local.get $s) (local.get $inEnd)))
        (br_if $done (i32.gt_u (local.get $o) (local.get $outLimit)))

        ;; The prefix, in 16-byte blocks (the last one may overshoot: the line overwrites it).
        (local.set $i (i32.const 0))
        (loop $prefix
          (v128.store align=1
            (i32.add (local.get $o) (local.get $i))
            (v128.load align=1 (i32.add (local.get $pfx) (local.get $i))))
          (br_if $prefix
            (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $pfxLen))))

        ;; The line: copy 16-byte blocks until one holds a newline.
        (local.set $o2 (i32.add (local.get $o) (local.get $pfxLen)))
        (local.set $p (local.get $s))
        (loop $scan
          (v128.store align=1
            (i32.add (local.get $o2) (i32.sub (local.get $p) (local.get $s)))
            (local.tee $v (v128.load align=1 (local.get $p))))
          (if (local.tee $m (i8x16.bitmask (i8x16.eq (local.get $v) (i8x16.splat (i32.const 10)))))
            (then
              ;; A newline past the input's end is slack, not data: the rest is a partial line.
              (br_if $done
                (i32.ge_u
                  (local.tee $nl (i32.add (local.get $p) (i32.ctz (local.get $m))))
                  (local.get $inEnd)))
              ;; The line ends at nl: the next prefix goes right after its newline.
              (local.set $o
                (i32.add (local.get $o2) (i32.sub (i32.add (local.get $nl) (i32.const 1)) (local.get $s))))
              (local.set $s (i32.add (local.get $nl) (i32.const 1)))
              (br $lines)))
          (br_if $scan
            (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 16))) (local.get $inEnd))))

        ;; The input ended inside a line: it is left for the caller.
        (br $done)))
    (i32.store (i32.const 0) (local.get $o))
    (local.get $s)))
