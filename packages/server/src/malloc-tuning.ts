/**
 * What one free block of this size does to glibc's malloc: freeing a block that malloc
 * mapped for itself (anything over 128 KiB) raises its thresholds to that block's size
 * (M_MMAP_THRESHOLD) and twice it (M_TRIM_THRESHOLD), up to a 32 MiB ceiling (chunk
 * header included, hence 31 MiB).
 */
export const MALLOC_PRIMING_BYTES = 31 * 1024 * 1024;

/**
 * Lets the process keep up to ~62 MiB of freed heap instead of handing it back at every
 * 128 KiB. Node copies every HTTP body chunk into a fresh 64 KiB malloc block, freed in
 * bulk when the GC collects the Buffers (every ~64 MiB of them): with glibc's default
 * trim threshold the top of the heap goes back to the kernel each time and the next
 * chunks fault it in again page by page. That was half the server's CPU for a pipe
 * (docs/benchmarks.md, "pipe"). One block allocated and dropped here moves the threshold,
 * as `MALLOC_TRIM_THRESHOLD_=65011712` would; glibc ignores it when the
 * `MALLOC_*_` variables were set (tune there), and other allocators are not affected.
 * The cost: up to ~62 MiB of freed heap may stay resident (upload peaks +4–6 MB).
 */
export function retainFreedMemory(): void {
  // Never touched, so never resident; freed (and the thresholds moved) at the next GC.
  Buffer.allocUnsafeSlow(MALLOC_PRIMING_BYTES);
}
