import { expect } from 'chai';
import * as api from './index.js';

/** What `import … from '@spool/impl-websocket'` brings at runtime: the public API, nothing internal. */
const PUBLIC_VALUES = [
  'ChecksumMismatchError',
  'ConnectionClosedError',
  'ContextRequiredError',
  'ErrorCode',
  'ForbiddenError',
  'InvalidMessageError',
  'InvalidMetadataError',
  'InvalidRangeError',
  'LineAccessUnsupportedError',
  'LinesOutOfRangeError',
  'MessageTooLargeError',
  'NameTakenError',
  'OffsetMismatchError',
  'ProtocolViolationError',
  'QuotaExceededError',
  'RemoteResource',
  'ResourceDeletedError',
  'ResourceNotFoundError',
  'ResourceTerminalError',
  'ShuttingDownError',
  'SpoolDownloadClient',
  'SpoolError',
  'SpoolRemoteResource',
  'SpoolUploadClient',
  'StepDownloadClient',
  'StepUploadClient',
  'StorageFailureError',
  'TimeoutError',
  'TransferState',
  'UnauthorizedError',
  'UploadAbortedError',
  'UploadFailedError',
  'WriterConflictError',
  'createDownloadClient',
  'createUploadClient',
  'growingFile',
  'isTerminal',
  'webSocketMaskingInfo',
];

describe('the public API of @spool/impl-websocket', () => {
  it('exports exactly the clients, their results, options and typed errors: a new export is a decision made here', () => {
    expect(Object.keys(api).sort()).to.deep.equal([...PUBLIC_VALUES].sort());
  });

  it('keeps internals out: connection machinery, helpers, wire schemas', () => {
    for (const internal of ['settleOnce', 'rawDataToBuffer', 'SpoolCreateSchema', 'SpoolSocket', 'connectWebSocket', 'StatusTracker']) {
      expect(api, internal).to.not.have.property(internal);
    }
  });
});
