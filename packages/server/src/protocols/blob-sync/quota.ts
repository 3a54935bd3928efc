import { ErrorCode } from '@spool/common';
import type { SpoolCore } from '../../core/spool-core.js';
import { userPrefix } from './blob-names.js';
import { BlobError } from './errors.js';

/** Bytes held for an upload until it ends: `release` once, whatever happened. */
export interface QuotaReservation {
  /** Bytes the upload may still store under the quota (Infinity without one). */
  readonly room: number;
  release(): void;
}

const NO_RESERVATION: QuotaReservation = { room: Number.POSITIVE_INFINITY, release: () => undefined };

/** 507, as the original answered: `used` bytes stored (and held by uploads under way), `wanted` more asked for. */
export function quotaExceeded(user: string, limit: number, used: number, wanted: number | undefined): BlobError {
  const asked = wanted === undefined ? `a body longer than the ${Math.max(0, limit - used)} bytes left` : `${wanted} more bytes`;
  return new BlobError(
    507,
    'QuotaExceeded',
    ErrorCode.QUOTA_EXCEEDED,
    `Quota exceeded: user ${user} uses ${used} of ${limit} bytes (blobQuotaBytes); this request needs ${asked}`,
    { limit, used, ...(wanted === undefined ? {} : { wanted }) },
  );
}

/**
 * The per-user quota (`blobQuotaBytes`): the bytes of every blob a user stores (their
 * names' visible sizes, through the catalog's name index) plus the bytes uploads of that
 * user in this process have declared and not yet ended. Reserving before the first await
 * makes concurrent uploads of one user see each other: together they cannot pass the quota
 * (an upload's stored part counts twice until it ends: conservative).
 */
export class BlobQuota {
  private readonly reserved = new Map<string, number>();

  constructor(
    private readonly core: SpoolCore,
    /** 0 = unlimited. */
    private readonly limit: number,
  ) {}

  /**
   * Holds `bytes` for `user` — for a body of unknown length (`undefined`), whatever room
   * is left — or throws 507 if they do not fit.
   */
  async reserve(user: string, bytes: number | undefined): Promise<QuotaReservation> {
    if (this.limit === 0) return NO_RESERVATION;
    const wanted = bytes ?? 0;
    this.adjust(user, wanted);
    let stored: number;
    try {
      stored = (await this.core.usage(userPrefix(user))).bytes;
    } catch (err) {
      this.adjust(user, -wanted);
      throw err;
    }
    const others = (this.reserved.get(user) ?? 0) - wanted;
    const room = this.limit - stored - others;
    if (wanted > room) {
      this.adjust(user, -wanted);
      throw quotaExceeded(user, this.limit, stored + Math.max(0, others), wanted);
    }
    // A body of unknown length holds nothing: its budget is the room left when it started.
    let released = false;
    return {
      room: bytes === undefined ? Math.max(0, room) : bytes,
      release: () => {
        if (released) return;
        released = true;
        this.adjust(user, -wanted);
      },
    };
  }

  private adjust(user: string, delta: number): void {
    const next = (this.reserved.get(user) ?? 0) + delta;
    if (next === 0) this.reserved.delete(user);
    else this.reserved.set(user, next);
  }
}
