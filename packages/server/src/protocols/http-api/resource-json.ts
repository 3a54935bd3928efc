import type { ResourceFields, ResourceStatus } from '@spool/common';
import type { ResourceRecord } from '../../core/types.js';
import { resourceFields } from '../shared/resource-view.js';

export const API_PREFIX = '/api/v1';

/**
 * Path of a resource under the public base path (`publicUrl`'s path behind a proxy,
 * else none), as links and Location headers carry it.
 */
export const resourcePath = (id: string, basePath = ''): string => `${basePath}${API_PREFIX}/resources/${encodeURIComponent(id)}`;

/** A resource as every JSON answer of the HTTP API shows it: metadata, current status, links. */
export interface ResourceJson extends ResourceFields {
  links: { self: string; content: string; lines: string | null; events: string };
}

/** `status` is the freshest status (an active writer's may be newer than the record's). */
export function resourceJson(record: ResourceRecord, status: ResourceStatus, basePath = ''): ResourceJson {
  const self = resourcePath(record.id, basePath);
  return {
    ...resourceFields(record, status),
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
    checksums: status.checksums ?? {},
    error: status.error ?? null,
  };
}
