import type { Logger } from 'winston';
import type { SpoolCore } from '../../../core/spool-core.js';
import type { UploadSession } from '../../../core/upload-session.js';
import { mimeTypeFromContentType } from '../../../transport/http/mime-type.js';
import type { FanOutResult } from './fan-out.js';

/** What a transfer says of itself when it is registered. */
export interface PipeDescription {
  /** `pipe`, `rendezvous`: the protocol, in the resource's attributes. */
  readonly protocol: string;
  /** The path or stream id the parties met at. */
  readonly meetingPoint: string;
  readonly contentType: string | undefined;
  readonly receivers: number;
}

/** A file name from a meeting point (its last segment, without what a file name may not hold). */
function filenameOf(meetingPoint: string): string {
  const last =
    meetingPoint
      .split('/')
      .filter((segment) => segment !== '')
      .pop() ?? '';
  const cleaned = last.replace(/[\0\\]/g, '_').slice(0, 200);
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'pipe' : cleaned;
}

/**
 * A transfer through a pipe, registered in the core like any resource for as long as it
 * runs: it shows in the list, its status and the logs (`pipe started`/`pipe ended`), and
 * counts against `maxActiveUploads`. Its bytes never touch the disk (they go from the
 * sender's socket to the receivers'): the resource stays at size 0 while IN_PROGRESS,
 * and when the transfer ends it is ended (COMPLETED, or FAILED with why) and deleted,
 * so nothing is kept. Two catalog writes per transfer, none per chunk.
 */
export class PipeResource {
  private constructor(
    private readonly core: SpoolCore,
    private readonly logger: Logger,
    private readonly session: UploadSession,
    private readonly description: PipeDescription,
  ) {}

  static async open(core: SpoolCore, logger: Logger, description: PipeDescription): Promise<PipeResource> {
    const session = await core.createUpload(
      {
        filename: filenameOf(description.meetingPoint),
        mimeType: mimeTypeFromContentType(description.contentType) ?? 'application/octet-stream',
        supportsLineAccess: false,
      },
      {
        checksum: false,
        attributes: { protocol: description.protocol, meetingPoint: description.meetingPoint.slice(0, 256), storage: 'pass-through' },
      },
    );
    logger.info('pipe started', { resourceId: session.id, meetingPoint: description.meetingPoint, receivers: description.receivers });
    return new PipeResource(core, logger, session, description);
  }

  get id(): string {
    return this.session.id;
  }

  /** Ends the resource with the transfer's outcome, then forgets it. Never throws. */
  async close(result: FanOutResult): Promise<void> {
    const { meetingPoint } = this.description;
    this.logger.info('pipe ended', { resourceId: this.id, meetingPoint, outcome: result.end, bytes: result.bytes });
    try {
      if (result.end === 'finished') await this.session.finish();
      else await this.session.fail(result.end === 'source-aborted' ? 'The sender stopped before the end' : 'Every receiver left');
      await this.core.delete(this.id);
    } catch (err) {
      this.logger.warn('pipe resource not cleaned up', { resourceId: this.id, error: (err as Error).message });
    }
  }
}
