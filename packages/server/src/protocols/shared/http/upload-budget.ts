import { ErrorCode, SpoolError } from '@spool/common';
import type { Request } from 'express';
import type { SpoolConfig } from '../../../config/schema.js';
import type { PumpLimit } from '../../../transport/http/body-pump.js';
import type { BodyTimeouts } from '../../../transport/http/body-watchdog.js';
import { declaredLength } from '../../../transport/http/request-body.js';

/** How many bytes may still come, and the error for more. Both limits surface as MESSAGE_TOO_LARGE → 413. */
export type UploadBudget = PumpLimit;

const UNLIMITED = Number.POSITIVE_INFINITY;

/** The per-request limit, httpMaxBodyBytes. */
export function requestBudget(config: SpoolConfig): UploadBudget {
  const limit = config.httpMaxBodyBytes > 0 ? config.httpMaxBodyBytes : UNLIMITED;
  return {
    room: limit,
    tooLarge: () =>
      new SpoolError(ErrorCode.MESSAGE_TOO_LARGE, `Request body larger than the limit of ${limit} bytes (httpMaxBodyBytes)`, { limit }),
  };
}

/** What a resource holding `storedBytes` may still grow by under maxResourceBytes. */
export function resourceBudget(config: SpoolConfig, storedBytes: number): UploadBudget {
  const limit = config.maxResourceBytes;
  return {
    room: limit > 0 ? Math.max(0, limit - storedBytes) : UNLIMITED,
    tooLarge: () =>
      new SpoolError(ErrorCode.MESSAGE_TOO_LARGE, `Resource larger than the limit of ${limit} bytes (maxResourceBytes)`, { limit }),
  };
}

/** The budget of a body that becomes (part of) one resource: the tighter of both. */
export function uploadBudget(config: SpoolConfig, storedBytes: number): UploadBudget {
  const request = requestBudget(config);
  const resource = resourceBudget(config, storedBytes);
  return request.room <= resource.room ? request : resource;
}

/** Refuses up front a body whose Content-Length already exceeds the budget: nothing is created or changed. */
export function refuseDeclaredOverBudget(req: Request, budget: UploadBudget): void {
  const length = declaredLength(req);
  if (length !== undefined && length > budget.room) throw budget.tooLarge();
}

export function bodyTimeouts(config: SpoolConfig): BodyTimeouts {
  return { idleTimeoutMs: config.httpIdleTimeoutMs, deadlineMs: config.httpRequestDeadlineMs };
}
