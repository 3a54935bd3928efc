import type { ResourceStatus } from '@spool/common';
import type { SpoolCore } from '../../core/spool-core.js';
import type { WsConnection } from '../../transport/websocket/index.js';

/**
 * Subscribes `listener` to a resource's status for as long as `conn` is open: it is
 * unsubscribed when the connection closes, including a close that happened while the
 * subscription was being set up. Throws what `core.subscribe` throws (unknown id).
 */
export async function subscribeWhileOpen(
  core: SpoolCore,
  resourceId: string,
  conn: WsConnection,
  listener: (status: ResourceStatus) => void,
): Promise<void> {
  const unsubscribe = await core.subscribe(resourceId, listener);
  if (conn.closed) unsubscribe();
  else conn.once('close', unsubscribe);
}
