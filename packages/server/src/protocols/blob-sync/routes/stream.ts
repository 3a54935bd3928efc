import type { Request, Response } from 'express';
import { queryParam } from '../../../transport/http/request-params.js';
import type { Requirement } from '../../access-rule.js';
import { blobSpaceOf, pathUser } from '../blob-names.js';
import type { BlobContext } from '../context.js';
import { invalidRequest } from '../errors.js';
import { streamDownload } from './stream-download.js';
import { streamUpload } from './stream-upload.js';

type Direction = 'upload' | 'download';

function directionOf(req: Request): Direction | undefined {
  const direction = queryParam(req, 'direction');
  return direction === 'upload' || direction === 'download' ? direction : undefined;
}

/**
 * What a stream request needs: reading one's own blobs to download, creating them to
 * upload (and, without a valid direction, the stricter: the answer is then a 400).
 */
export function streamRequirement(req: Request): Requirement {
  return { permission: directionOf(req) === 'download' ? 'read' : 'create', owner: pathUser(req) };
}

/** `POST <base>stream/{user}/?namespace=&direction=upload|download` (the original answered 500 without a direction). */
export function streamBlobs(ctx: BlobContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const direction = directionOf(req);
    if (direction === undefined) {
      const given = queryParam(req, 'direction');
      throw invalidRequest(
        `direction must be upload or download, got ${given === undefined ? 'none' : JSON.stringify(given.slice(0, 40))}`,
      );
    }
    const space = blobSpaceOf(req);
    await (direction === 'download' ? streamDownload(ctx, req, res, space) : streamUpload(ctx, req, res, space));
  };
}
