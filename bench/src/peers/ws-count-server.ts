/**
 * Plain `ws` upload ceiling: counts the bytes of binary messages and answers the text
 * message "end" with `{ bytes, messages }`. Nothing is stored.
 */
import type { RawData } from 'ws';
import { END_COMMAND, type PeerSummary, rawDataLength, startPlainWsServer } from './peer-common.js';

const server = await startPlainWsServer();
server.on('connection', (ws) => {
  const summary: PeerSummary = { bytes: 0, messages: 0 };
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      summary.bytes += rawDataLength(data);
      summary.messages++;
    } else if (data.toString() === END_COMMAND) {
      ws.send(JSON.stringify(summary));
    }
  });
});
