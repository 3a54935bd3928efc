import http from 'node:http';
import { createRequire } from 'node:module';

/** How `ws` masks client frames in this process (every byte a client sends is XOR-masked). */
export interface WebSocketMaskingInfo {
  /** True when masking runs in native code rather than a JavaScript byte loop. */
  fastMasking: boolean;
  /** `node` (Node's built-in masking), `bufferutil` (the native addon), or `javascript`. */
  implementation: 'node' | 'bufferutil' | 'javascript';
  /** Why it is not fast, when it is not. */
  reason?: string;
}

let cached: WebSocketMaskingInfo | undefined;

/**
 * Reports which masking path `ws` uses, mirroring `ws/lib/buffer-util.js`: Node's own
 * `http.websocketMask` when the runtime has it, else the `bufferutil` addon resolved
 * *from ws's own location* (under pnpm that is where the optional peer is linked) unless
 * `WS_NO_BUFFER_UTIL` is set, else a JavaScript loop. Benchmarks should print it.
 */
export function webSocketMaskingInfo(): WebSocketMaskingInfo {
  cached ??= detectMasking();
  return cached;
}

function detectMasking(): WebSocketMaskingInfo {
  if (typeof (http as { websocketMask?: unknown }).websocketMask === 'function') {
    return { fastMasking: true, implementation: 'node' };
  }
  if (process.env.WS_NO_BUFFER_UTIL) {
    return { fastMasking: false, implementation: 'javascript', reason: 'WS_NO_BUFFER_UTIL is set' };
  }
  try {
    const requireHere = createRequire(import.meta.url);
    const requireFromWs = createRequire(requireHere.resolve('ws'));
    const bufferUtil = requireFromWs('bufferutil') as { mask?: unknown };
    // bufferutil falls back to its own JavaScript implementation when the addon cannot load.
    const native = typeof bufferUtil.mask === 'function' && Function.prototype.toString.call(bufferUtil.mask).includes('[native code]');
    return native
      ? { fastMasking: true, implementation: 'bufferutil' }
      : {
          fastMasking: false,
          implementation: 'javascript',
          reason: 'bufferutil loaded its JavaScript fallback (native addon unavailable)',
        };
  } catch (error) {
    return { fastMasking: false, implementation: 'javascript', reason: `bufferutil cannot be loaded by ws: ${(error as Error).message}` };
  }
}
