;; Counts '\n' (0x0A) bytes in memory[start, end) 16 bytes at a time (SIMD) and stops at
;; the `need`-th one: returns its address, or -1 if there are fewer. The global `counted`
;; holds how many newlines the call passed (the one returned included).
(module
  (memory (export "memory") 1)
  (global $counted (export "counted") (mut i32) (i32.const 0))
  (func (export "scan") (param $p i32) (param $end i32) (param $need i32) (result i32)
    (local $count i32) (local $mask i32) (local $bits i32) (local $nl v128)
    (local.set $nl (i8x16.splat (i32.const 10)))
    (block $simd_done
      (loop $simd
        (br_if $simd_done (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
        (local.set $mask (i8x16.bitmask (i8x16.eq (v128.load (local.get $p)) (local.get $nl))))
        (local.set $bits (i32.popcnt (local.get $mask)))
        (if (i32.ge_u (i32.add (local.get $count) (local.get $bits)) (local.get $need))
          (then
            (loop $find
              (local.set $count (i32.add (local.get $count) (i32.const 1)))
              (if (i32.eq (local.get $count) (local.get $need))
                (then
                  (global.set $counted (local.get $count))
                  (return (i32.add (local.get $p) (i32.ctz (local.get $mask))))))
              (local.set $mask (i32.and (local.get $mask) (i32.sub (local.get $mask) (i32.const 1))))
              (br $find))))
        (local.set $count (i32.add (local.get $count) (local.get $bits)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $simd)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $p) (local.get $end)))
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 10))
          (then
            (local.set $count (i32.add (local.get $count) (i32.const 1)))
            (if (i32.eq (local.get $count) (local.get $need))
              (then
                (global.set $counted (local.get $count))
                (return (local.get $p))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $tail)))
    (global.set $counted (local.get $count))
    (i32.const -1)))
