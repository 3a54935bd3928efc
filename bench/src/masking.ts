import http from 'node:http';
import { createRequire } from 'node:module';

/**
 * How the `ws` library used by this process's plain clients masks frames, checked the way
 * `ws/lib/buffer-util.js` decides: Node's own `http.websocketMask` if present, else the
 * `bufferutil` addon required from ws's own location unless WS_NO_BUFFER_UTIL is set, else
 * a JavaScript loop.
 */
export function plainWsMasking(): string {
  if (typeof (http as { websocketMask?: unknown }).websocketMask === 'function') return 'Node built-in (native)';
  if (process.env.WS_NO_BUFFER_UTIL) return 'JavaScript (WS_NO_BUFFER_UTIL is set)';
  try {
    const requireFromWs = createRequire(createRequire(import.meta.url).resolve('ws'));
    const bufferUtil = requireFromWs('bufferutil') as { mask?: unknown };
    const native = typeof bufferUtil.mask === 'function' && Function.prototype.toString.call(bufferUtil.mask).includes('[native code]');
    return native ? 'bufferutil (native)' : 'JavaScript (bufferutil fell back to JS)';
  } catch {
    return 'JavaScript (bufferutil not installed)';
  }
}
