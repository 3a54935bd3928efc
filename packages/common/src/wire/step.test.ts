import { expect } from 'chai';
import { describeZodError } from '../metadata.js';
import { StepUploadClientMessageSchema } from './step.js';

const finishWith = (checksum: string) => StepUploadClientMessageSchema.safeParse({ '@': 'FinishUpload', checksum });
const refusal = (checksum: string): string => {
  const parsed = finishWith(checksum);
  if (parsed.success) throw new Error(`${JSON.stringify(checksum)} was accepted`);
  return describeZodError(parsed.error);
};

describe('Step wire schema: FinishUpload checksum', () => {
  it('accepts an MD5 in hex of either case, and empty (the client did not hash)', () => {
    for (const checksum of ['0123456789abcdef0123456789abcdef', '0123456789ABCDEF0123456789ABCDEF', '']) {
      expect(finishWith(checksum).success, checksum).to.equal(true);
    }
  });

  it('refuses anything else, naming the bad value', () => {
    expect(refusal('NaN')).to.equal('checksum: must be an MD5 (32 hex digits) or empty, not "NaN"');
    expect(refusal('/x')).to.equal('checksum: must be an MD5 (32 hex digits) or empty, not "/x"');
    expect(refusal('0123456789abcdef0123456789abcde')).to.match(/^checksum: must be an MD5/);
    expect(refusal(`${'a'.repeat(32)} `)).to.match(/^checksum: must be an MD5/);
  });

  it('echoes at most 40 characters of a long bad value', () => {
    expect(refusal('z'.repeat(100_000))).to.equal(`checksum: must be an MD5 (32 hex digits) or empty, not "${'z'.repeat(40)}…"`);
  });
});
