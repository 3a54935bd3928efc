import { createRequire } from 'node:module';

/**
 * In-place XOR of client payload with its 4-byte masking key (RFC 6455 §5.3).
 *
 * A frame's payload may reach us in several socket chunks, so every piece carries
 * a `phase`: the offset of its first byte within the frame payload, mod 4.
 */

type NativeUnmask = (data: Buffer, mask: Buffer) => void;

function loadNativeUnmask(): NativeUnmask | undefined {
  try {
    const bufferutil: unknown = createRequire(import.meta.url)('bufferutil');
    const unmask = (bufferutil as { unmask?: unknown } | null)?.unmask;
    return typeof unmask === 'function' ? (unmask as NativeUnmask) : undefined;
  } catch {
    return undefined; // optional native addon missing or not built: the JS path is used
  }
}

const nativeUnmask = loadNativeUnmask();

/** Whether the `bufferutil` native addon is in use. */
export const nativeUnmaskAvailable = nativeUnmask !== undefined;

/** Below this size the native call overhead outweighs its speed (ws uses the same cut-off). */
const NATIVE_MIN_BYTES = 32;

// Scratch for the phase-rotated mask. Its own 4-byte ArrayBuffer, so it is aligned and
// can be read as one 32-bit word in the platform's byte order (no endianness test needed).
const rotatedMaskWord = new Uint32Array(1);
const rotatedMask = Buffer.from(rotatedMaskWord.buffer);

function rotateMask(mask: Buffer, phase: number): void {
  rotatedMask[0] = mask[phase & 3] as number;
  rotatedMask[1] = mask[(phase + 1) & 3] as number;
  rotatedMask[2] = mask[(phase + 2) & 3] as number;
  rotatedMask[3] = mask[(phase + 3) & 3] as number;
}

/** Pure-JS unmasking: byte-wise up to 4-byte alignment, then 32 bits at a time. */
export function unmaskPortable(data: Buffer, mask: Buffer, phase: number): void {
  const length = data.length;
  const leading = Math.min(length, (4 - (data.byteOffset & 3)) & 3);
  let i = 0;
  for (; i < leading; i++) data[i] ^= mask[(phase + i) & 3] as number;
  const words = (length - i) >>> 2;
  if (words > 0) {
    rotateMask(mask, phase + i);
    const maskWord = rotatedMaskWord[0] as number;
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] ^= maskWord;
    i += words << 2;
  }
  for (; i < length; i++) data[i] ^= mask[(phase + i) & 3] as number;
}

/** Unmasks `data` in place; `phase` is the payload offset of `data[0]` mod 4. */
export function unmaskInPlace(data: Buffer, mask: Buffer, phase: number): void {
  if (nativeUnmask === undefined || data.length < NATIVE_MIN_BYTES) {
    unmaskPortable(data, mask, phase);
    return;
  }
  if ((phase & 3) === 0) {
    nativeUnmask(data, mask);
  } else {
    rotateMask(mask, phase);
    nativeUnmask(data, rotatedMask);
  }
}
