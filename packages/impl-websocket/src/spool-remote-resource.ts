import type { Readable } from 'node:stream';
import { type FollowOptions, RemoteResource, type RemoteResourceOptions } from '@spool/client-download';
import { ConnectionClosedError } from '@spool/common';
import { SpoolFollowStream } from './spool-follow-stream.js';
import type { SpoolResourceConnection } from './spool-resource-connection.js';

export interface SpoolRemoteResourceOptions extends RemoteResourceOptions {
  /** Bytes a follower holds for a slow consumer before its socket is paused (default 4 MiB). */
  followBufferBytes?: number;
}

const DEFAULT_FOLLOW_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * A {@link RemoteResource} over the Spool protocol: status, ranges and lines as usual,
 * and {@link follow} by server push instead of polling. The first follower uses the
 * resource's own connection; a follower started while another is active gets a
 * connection of its own, so one slow consumer never holds up another.
 */
export class SpoolRemoteResource extends RemoteResource {
  readonly #connection: SpoolResourceConnection;
  readonly #openConnection: () => Promise<SpoolResourceConnection>;
  readonly #followBufferBytes: number;
  /** The follower using the resource's own connection, if any. */
  #mainFollower: SpoolFollowStream | undefined;
  /** Followers on connections of their own, ended when the resource is closed. */
  readonly #ownFollowers = new Set<SpoolFollowStream>();

  /** Wraps a connection that has already received a status (see `SpoolDownloadClient.open`). */
  constructor(
    connection: SpoolResourceConnection,
    openConnection: () => Promise<SpoolResourceConnection>,
    options: SpoolRemoteResourceOptions = {},
  ) {
    super(connection, options);
    this.#connection = connection;
    this.#openConnection = openConnection;
    this.#followBufferBytes = options.followBufferBytes ?? DEFAULT_FOLLOW_BUFFER_BYTES;
    if (!Number.isSafeInteger(this.#followBufferBytes) || this.#followBufferBytes <= 0) {
      throw new RangeError(`followBufferBytes must be a positive integer, got ${this.#followBufferBytes}`);
    }
  }

  /** Times the resource's own connection was re-established. */
  get reconnects(): number {
    return this.#connection.reconnects;
  }

  /**
   * Follows the resource from `fromOffset`, pushed by the server as bytes become visible.
   * Same contract as {@link RemoteResource.follow}: ends on COMPLETED after every byte,
   * errors with `UploadFailedError` on FAILED, with the connection's error if it ends for
   * good (reconnects in between are invisible: every byte is delivered exactly once).
   */
  override follow(options: FollowOptions = {}): Readable {
    const start = this.followStart(options);
    // One follower at a time on the resource's own connection (claimed synchronously, its
    // follow starts a tick later); a closed resource's follower fails there at once.
    const shared = this.#mainFollower === undefined || this.closeError !== undefined;
    const stream = new SpoolFollowStream(shared ? Promise.resolve(this.#connection) : this.#openConnection(), {
      start,
      maxBufferedBytes: this.#followBufferBytes,
      ownsConnection: !shared,
    });
    if (shared) {
      this.#mainFollower = stream;
      stream.once('close', () => {
        if (this.#mainFollower === stream) this.#mainFollower = undefined;
      });
    } else {
      this.#ownFollowers.add(stream);
      stream.once('close', () => this.#ownFollowers.delete(stream));
    }
    return this.withSignal(stream, options);
  }

  override async close(): Promise<void> {
    for (const follower of this.#ownFollowers)
      follower.destroy(new ConnectionClosedError('Resource closed by the client', { resourceId: this.id }));
    await super.close();
  }
}
