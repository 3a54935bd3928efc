import { expect } from 'chai';
import {
  parseServerMessage,
  RESOURCE_SERVER_MESSAGES,
  STEP_DOWNLOAD_SERVER_MESSAGES,
  STEP_UPLOAD_SERVER_MESSAGES,
} from './server-messages.js';

/** Parses `text` as a server message; returns the message (or undefined) and the violations reported. */
function parse<M>(text: string, messages: Parameters<typeof parseServerMessage<M>>[1]): { message: M | undefined; violations: string[] } {
  const violations: string[] = [];
  const message = parseServerMessage(Buffer.from(text), messages, (reason) => violations.push(reason));
  return { message, violations };
}

describe('parseServerMessage (one parser for Spool and Step messages)', () => {
  it('returns a message that fits its schema, on either protocol', () => {
    const status = parse('{"type":"status","state":"IN_PROGRESS","size":3,"lines":0}', RESOURCE_SERVER_MESSAGES);
    expect(status).to.deep.equal({ message: { type: 'status', state: 'IN_PROGRESS', size: 3, lines: 0 }, violations: [] });
    const lines = parse('{"@":"Lines","lines":["a\\n"]}', STEP_DOWNLOAD_SERVER_MESSAGES);
    expect(lines).to.deep.equal({ message: { '@': 'Lines', lines: ['a\n'] }, violations: [] });
  });

  it('ignores a message of a type it does not know (a newer server may add some)', () => {
    expect(parse('{"type":"hint","x":1}', RESOURCE_SERVER_MESSAGES)).to.deep.equal({ message: undefined, violations: [] });
    expect(parse('{"@":"Progress"}', STEP_UPLOAD_SERVER_MESSAGES)).to.deep.equal({ message: undefined, violations: [] });
    // The type is looked up under the protocol's own field: `type` means nothing on Step.
    expect(parse('{"type":"hint"}', STEP_UPLOAD_SERVER_MESSAGES).violations).to.deep.equal(['The server sent an invalid message']);
  });

  it('reports a known type that does not fit, JSON that is not an object, and text that is not JSON', () => {
    expect(parse('{"type":"status","size":-1}', RESOURCE_SERVER_MESSAGES).violations).to.deep.equal(['The server sent an invalid status']);
    expect(parse('{"@":"UploadAcknowledged"}', STEP_UPLOAD_SERVER_MESSAGES).violations).to.deep.equal([
      'The server sent an invalid UploadAcknowledged',
    ]);
    expect(parse('[1,2]', RESOURCE_SERVER_MESSAGES).violations).to.deep.equal(['The server sent an invalid message']);
    expect(parse('{nope', STEP_DOWNLOAD_SERVER_MESSAGES)).to.deep.equal({
      message: undefined,
      violations: ['The server sent a text message that is not JSON'],
    });
  });
});
