import { ErrorCode, type SpoolError, TimeoutError } from '@spool/common';
import { expect } from 'chai';
import { FakeDownloadTransport } from './testing/fake-download-transport.js';
import { firstStatus, malformedByteRange, malformedLineRange, requestChunkChecked, requestLinesChecked } from './transport-requests.js';

describe('transport request checks', () => {
  it('names malformed byte and line ranges, and only those', () => {
    expect(malformedByteRange(0, 0)).to.equal(undefined);
    expect(malformedByteRange(3, 9)).to.equal(undefined);
    for (const [start, end] of [
      [-1, 2],
      [5, 4],
      [0.5, 2],
      [0, Number.NaN],
    ] as const) {
      const error = malformedByteRange(start, end, { size: 9 });
      expect(error?.code).to.equal(ErrorCode.INVALID_RANGE);
      expect(error?.details).to.deep.equal({ start, end, size: 9 });
    }
    expect(malformedLineRange(0, 0)).to.equal(undefined);
    expect(malformedLineRange(-1, 1)?.code).to.equal(ErrorCode.LINES_OUT_OF_RANGE);
    expect(malformedLineRange(1, 1.5)?.details).to.deep.equal({ start: 1, count: 1.5 });
  });

  it('asks the server only for well-formed, non-empty requests', async () => {
    const asked: string[] = [];
    const fetchChunk = async () => {
      asked.push('chunk');
      return Buffer.from('x');
    };
    const fetchLines = async () => {
      asked.push('lines');
      return ['x\n'];
    };
    expect((await requestChunkChecked(4, 4, fetchChunk)).length).to.equal(0);
    expect(await requestLinesChecked(4, 0, fetchLines)).to.deep.equal([]);
    const badChunk = await requestChunkChecked(4, 3, fetchChunk).catch((e: SpoolError) => e.code);
    const badLines = await requestLinesChecked(-4, 3, fetchLines).catch((e: SpoolError) => e.code);
    expect([badChunk, badLines]).to.deep.equal([ErrorCode.INVALID_RANGE, ErrorCode.LINES_OUT_OF_RANGE]);
    expect(asked).to.deep.equal([]);
    expect((await requestChunkChecked(0, 1, fetchChunk)).toString()).to.equal('x');
    expect(await requestLinesChecked(0, 1, fetchLines)).to.deep.equal(['x\n']);
    expect(asked).to.deep.equal(['chunk', 'lines']);
  });

  it('waits for the first status: the one there is, the close, or the timeout', async () => {
    const withStatus = new FakeDownloadTransport();
    expect((await firstStatus(withStatus, 10_000)).id).to.equal('fake-1');

    const closed = new FakeDownloadTransport({ publishInitial: false });
    closed.disconnect();
    expect(await firstStatus(closed, 10_000).catch((e: SpoolError) => e.code)).to.equal(ErrorCode.CONNECTION_CLOSED);

    const silent = new FakeDownloadTransport({ publishInitial: false });
    expect(await firstStatus(silent, 1).catch((e: unknown) => e)).to.be.instanceOf(TimeoutError);
  });
});
