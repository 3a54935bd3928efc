import { ErrorCode, type SpoolError } from '@spool/common';
import { looksLikeId } from '../../core/names.js';
import type { SpoolCore } from '../../core/spool-core.js';

/**
 * Resource references — an id, or a name (`ci/1234/build.log`) — resolved to ids once per
 * request: the access rule (`requires('read', (req) => refs.idFor(req, ...))`) and then the
 * handler ask for the same request, get the same lookup, and so see the same resource,
 * even if the name changes holder in between.
 *
 * Ids pass as they are, without a lookup (the handler's own read answers 404 for an
 * unknown one). A name nobody holds also stays as it is: a capability token then fails
 * the comparison with its resource's id (403, like an unknown id), and an API token gets
 * the handler's 404 — whether a name exists is told only to those who may read anything.
 */
export class ResourceRefs {
  private readonly resolved = new WeakMap<object, Promise<string>>();

  constructor(private readonly core: Pick<SpoolCore, 'resolve'>) {}

  /** The id `ref` names, looked up once for `request` (any object living as long as the request). */
  idFor(request: object, ref: string): Promise<string> {
    let id = this.resolved.get(request);
    if (!id) {
      id = looksLikeId(ref) ? Promise.resolve(ref) : this.lookUp(ref);
      this.resolved.set(request, id);
    }
    return id;
  }

  private async lookUp(name: string): Promise<string> {
    try {
      return (await this.core.resolve(name)).id;
    } catch (err) {
      if ((err as SpoolError).code === ErrorCode.RESOURCE_NOT_FOUND) return name;
      throw err;
    }
  }
}
