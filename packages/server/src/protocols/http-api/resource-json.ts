import type { ResourceStatus } from '@spool/common';
import type { ResourceRecord } from '../../core/types.js';

export const API_PREFIX = '/api/v1';

/**
 * Path of a resource under the public base path (`publicUrl`'s path behind a proxy,
 * else none), as links and Location headers carry it.
 */
export const resourcePath = (id: string, basePath = ''): string => `${basePath}${API_PREFIX}/resources/${encodeURIComponent(id)}`;

/** A resource as every JSON answer of the HTTP API shows it: metadata, current status, links. */
export interface ResourceJson {
  id: string;
  /** The path-like name its uploader chose (`ci/1234/build.log`), usable wherever the id is; null if none. */
  name: string | null;
  filename: string;
  mimeType: string;
  supportsLineAccess: boolean;
  contextId: string | null;
  state: ResourceStatus['state'];
  /** Visible (= durable) size in bytes: what readers may read, what an appender continues from. */
  size: number;
  lines: number | null;
  checksum: string | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  links: { self: string; content: string; lines: string | null; events: string };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** `status` is the freshest status (an active writer's may be newer than the record's). */
export function resourceJson(record: ResourceRecord, status: ResourceStatus, basePath = ''): ResourceJson {
  const self = resourcePath(record.id, basePath);
  return {
    id: record.id,
    name: record.name,
    filename: record.filename,
    mimeType: record.mimeType,
    supportsLineAccess: record.supportsLineAccess,
    contextId: record.contextId,
    state: status.state,
    size: status.size,
    lines: status.lines,
    checksum: status.checksum ?? record.checksum ?? null,
    error: status.error ?? record.error ?? null,
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
    completedAt: record.completedAt === null ? null : iso(record.completedAt),
    links: {
      self,
      content: `${self}/content`,
      lines: record.supportsLineAccess ? `${self}/lines` : null,
      events: `${self}/events`,
    },
  };
}

/** The status as SSE events carry it. */
export function statusJson(status: ResourceStatus): Record<string, unknown> {
  return {
    id: status.id,
    state: status.state,
    size: status.size,
    lines: status.lines,
    checksum: status.checksum ?? null,
    error: status.error ?? null,
  };
}
