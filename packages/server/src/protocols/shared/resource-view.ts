import type { ResourceFields, ResourceStatus } from '@spool/common';
import { type SpoolCore, statusOf } from '../../core/spool-core.js';
import type { ResourceRecord } from '../../core/types.js';

export interface LoadedResource {
  record: ResourceRecord;
  /** The freshest status: the active writer's if there is one, else the catalog's. */
  status: ResourceStatus;
}

/** Record and status of `id`; RESOURCE_NOT_FOUND if unknown. One catalog read. */
export async function loadResource(core: SpoolCore, id: string): Promise<LoadedResource> {
  const record = await core.getRecord(id);
  return { record, status: core.activeUpload(id)?.status ?? statusOf(record) };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** `status` is the freshest status (an active writer's may be newer than the record's). */
export function resourceFields(record: ResourceRecord, status: ResourceStatus): ResourceFields {
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
    checksums: status.checksums ?? record.checksums,
    error: status.error ?? record.error ?? null,
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
    completedAt: record.completedAt === null ? null : iso(record.completedAt),
  };
}
