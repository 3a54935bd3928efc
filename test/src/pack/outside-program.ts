// An outside program, against the packed packages only: a server, an upload, a follower.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RemoteResource } from '@spool/client-download';
import type { UploadResult } from '@spool/client-upload';
import { TransferState } from '@spool/common';
import { HspClient } from '@spool/impl-hsp';
import { BlobClient } from '@spool/impl-http';
import { createDownloadClient, createUploadClient } from '@spool/impl-websocket';
import { type SpoolServer, startServer } from '@spool/server';
import type { catalogContract } from '@spool/server/contracts';

const contract: typeof catalogContract | undefined = undefined;
const server: SpoolServer = await startServer({
  host: '127.0.0.1',
  port: 0,
  hspPort: 0,
  dataDir: mkdtempSync(path.join(tmpdir(), 'spool-pack-')),
  logLevel: 'error',
});
try {
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i}\n`);
  const upload = await createUploadClient(server.url).upload(
    (async function* () {
      for (const line of lines) {
        yield Buffer.from(line);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })(),
    { filename: 'build.log' },
  );
  const resource: RemoteResource = await createDownloadClient().open(upload.reference);
  const chunks: Buffer[] = [];
  const followed = (async () => {
    for await (const chunk of resource.follow()) chunks.push(chunk as Buffer);
  })();
  const result: UploadResult = await upload.complete();
  await followed;
  await resource.close();
  const text = Buffer.concat(chunks).toString();
  if (text !== lines.join('')) throw new Error(`followed ${text.length} bytes, expected ${lines.join('').length}`);
  if (result.size !== text.length) throw new Error(`size ${result.size}`);
  console.log(
    JSON.stringify({
      ok: true,
      state: TransferState.COMPLETED,
      size: result.size,
      clients: [typeof BlobClient, typeof HspClient],
      contract: contract === undefined,
    }),
  );
} finally {
  await server.close();
}
