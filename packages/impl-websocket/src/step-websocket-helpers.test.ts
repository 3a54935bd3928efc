import { ConnectionClosedError, ContextRequiredError, ErrorCode, QuotaExceededError, ResourceNotFoundError } from '@spool/common';
import { expect } from 'chai';
import { errorFromClose } from './close-errors.js';
import { webSocketMaskingInfo } from './masking.js';
import { stepUploadUrl, toWebSocketUrl } from './step-urls.js';

describe('Step WebSocket helpers', () => {
  it('builds upload URLs from ws and http bases', () => {
    expect(stepUploadUrl('http://h:8080').href).to.equal('ws://h:8080/ws/streaming/upload');
    expect(stepUploadUrl('https://h/prefix/').href).to.equal('wss://h/prefix/ws/streaming/upload');
    expect(stepUploadUrl('ws://h:1/ws/streaming/upload', 'a b').href).to.equal('ws://h:1/ws/streaming/upload?streamingUploadContextId=a+b');
    expect(toWebSocketUrl('http://h/ws/streaming/download/x').href).to.equal('ws://h/ws/streaming/download/x');
    expect(() => toWebSocketUrl('ftp://h')).to.throw(/Expected a ws/);
  });

  it('maps server closes to typed errors', () => {
    expect(errorFromClose(1011, 'Checksum mismatch: a vs b').code).to.equal(ErrorCode.CHECKSUM_MISMATCH);
    expect(errorFromClose(1008, 'QuotaExceededException: too big')).to.be.instanceOf(QuotaExceededError);
    expect(errorFromClose(1008, 'Missing parameter streamingUploadContextId')).to.be.instanceOf(ContextRequiredError);
    const notFound = errorFromClose(1008, 'Unknown resource abc');
    expect(notFound).to.be.instanceOf(ResourceNotFoundError);
    expect(notFound.details).to.deep.equal({ id: 'abc' });
    expect(errorFromClose(1008, 'WRITER_CONFLICT: Resource x already has a writer')).to.include({
      code: ErrorCode.WRITER_CONFLICT,
      message: 'Resource x already has a writer',
    });
    const other = errorFromClose(1001, 'Server shutdown');
    expect(other).to.be.instanceOf(ConnectionClosedError);
    expect(other.details).to.deep.equal({ closeCode: 1001, closeReason: 'Server shutdown' });
    expect(errorFromClose(1011, 'disk full').code).to.equal(ErrorCode.CONNECTION_CLOSED);
  });

  it('reports the masking path ws uses', () => {
    const info = webSocketMaskingInfo();
    console.log(`      ws masking: ${JSON.stringify(info)}`);
    expect(info.fastMasking).to.be.a('boolean');
    // Under this workspace's pnpm install, bufferutil's prebuilt addon loads from ws's location.
    if (!process.env.WS_NO_BUFFER_UTIL) expect(info.fastMasking).to.equal(true);
  });
});
