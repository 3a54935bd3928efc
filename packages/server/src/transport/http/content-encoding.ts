import type { IncomingMessage } from 'node:http';
import { HttpError, HttpErrorCode } from './errors.js';

/**
 * Bodies are stored byte for byte: a compressed request body would be stored compressed
 * under the wrong type, so any Content-Encoding but identity is refused (415).
 */
export function refuseContentEncoding(req: IncomingMessage): void {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== '') {
    throw new HttpError(
      415,
      HttpErrorCode.UNSUPPORTED_MEDIA_TYPE,
      `Content-Encoding ${encoding} is not supported: send the bytes as they are`,
      {
        'Accept-Encoding': 'identity',
      },
    );
  }
}
