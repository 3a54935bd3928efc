import { SpoolError } from '@spool/common';
import { type HttpErrorResponse, httpErrorFor } from '../../transport/http/errors.js';
import { NodeUnreachableError } from '../shared/rendezvous/owner-routing.js';

/** A refusal worded as piping-server words it (`[ERROR] … .`), 400 unless said otherwise. */
export class PipeRefusal extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'PipeRefusal';
  }
}

/**
 * The pipe protocol's one error mapping: plain text `[ERROR] …` lines as piping-server
 * answers (its clients show the text as it is); other errors keep the server's status
 * and say their code.
 */
export function pipeErrorResponse(err: unknown): HttpErrorResponse<string> {
  if (err instanceof PipeRefusal || err instanceof NodeUnreachableError) {
    const status = err instanceof PipeRefusal ? err.status : 502;
    return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: `[ERROR] ${err.message}\n` };
  }
  const answer = httpErrorFor(err);
  const { code, message } = answer.body.error;
  const text = err instanceof SpoolError || code !== 'INTERNAL' ? `${code}: ${message}` : message;
  return { status: answer.status, headers: { ...answer.headers, 'Content-Type': 'text/plain; charset=utf-8' }, body: `[ERROR] ${text}\n` };
}
