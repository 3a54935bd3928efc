import { expect } from 'chai';
import { ByteBudget } from './byte-budget.js';
import { buildClientFrame, pseudoRandomBytes } from './client-frame.testkit.js';
import { FrameParser, type FrameParserHandler, type WsProtocolError } from './frame-parser.js';
import { type ControlOpcode, type DataOpcode, Opcode } from './opcodes.js';

type ParserEvent =
  | { kind: 'start'; type: DataOpcode }
  | { kind: 'text' | 'binary'; data: Buffer }
  | { kind: 'end'; type: DataOpcode }
  | { kind: 'control'; opcode: ControlOpcode; payload: Buffer }
  | { kind: 'error'; code: number; message: string };

class RecordingHandler implements FrameParserHandler {
  readonly events: ParserEvent[] = [];
  onMessageStart(type: DataOpcode): void {
    this.events.push({ kind: 'start', type });
  }
  onTextPayload(chunk: Buffer): void {
    this.events.push({ kind: 'text', data: chunk });
  }
  onBinaryPayload(chunk: Buffer): void {
    this.events.push({ kind: 'binary', data: chunk });
  }
  onMessageEnd(type: DataOpcode): void {
    this.events.push({ kind: 'end', type });
  }
  onControlFrame(opcode: ControlOpcode, payload: Buffer): void {
    this.events.push({ kind: 'control', opcode, payload: Buffer.from(payload) });
  }
  onProtocolError(error: WsProtocolError): void {
    this.events.push({ kind: 'error', code: error.closeCode, message: error.message });
  }
}

/** Merges consecutive payload pieces, so event lists compare equal however input was split. */
function normalize(events: readonly ParserEvent[]): unknown[] {
  const merged: ParserEvent[] = [];
  for (const event of events) {
    const last = merged[merged.length - 1];
    if ((event.kind === 'text' || event.kind === 'binary') && last?.kind === event.kind) {
      merged[merged.length - 1] = { kind: event.kind, data: Buffer.concat([last.data, event.data]) };
    } else {
      merged.push(event);
    }
  }
  return merged.map((event) =>
    event.kind === 'text' || event.kind === 'binary'
      ? { kind: event.kind, hex: event.data.toString('hex') }
      : event.kind === 'control'
        ? { ...event, payload: event.payload.toString('hex') }
        : event,
  );
}

function parse(chunks: readonly Buffer[], maxTextMessageBytes = 1 << 20): ParserEvent[] {
  const handler = new RecordingHandler();
  const parser = new FrameParser(handler, { maxTextMessageBytes });
  // Copies: the parser unmasks its input in place.
  for (const chunk of chunks) parser.push(Buffer.from(chunk));
  return handler.events;
}

function splitAt(data: Buffer, points: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(data.subarray(start, point));
    start = point;
  }
  chunks.push(data.subarray(start));
  return chunks;
}

function closePayload(code: number, reason: string): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

/** A mixed stream: 7/16/64-bit lengths, fragmentation, control frames between fragments. */
function sampleStream(): Buffer {
  return Buffer.concat([
    buildClientFrame({ opcode: Opcode.TEXT, payload: Buffer.from('héllo ✓') }),
    buildClientFrame({ opcode: Opcode.BINARY, fin: false, payload: pseudoRandomBytes(300, 1) }),
    buildClientFrame({ opcode: Opcode.PING, payload: Buffer.from('are you there') }),
    buildClientFrame({ opcode: Opcode.CONTINUATION, fin: false, payload: pseudoRandomBytes(11, 2), lengthEncoding: 64 }),
    buildClientFrame({ opcode: Opcode.CONTINUATION, fin: true, payload: Buffer.alloc(0) }),
    buildClientFrame({ opcode: Opcode.TEXT, fin: false, payload: Buffer.from('ab'), mask: Buffer.from([1, 2, 3, 4]) }),
    buildClientFrame({ opcode: Opcode.PONG }),
    buildClientFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.from('c'), mask: Buffer.alloc(4) }),
    buildClientFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(0) }),
    buildClientFrame({ opcode: Opcode.CLOSE, payload: closePayload(1000, 'bye') }),
  ]);
}

describe('websocket FrameParser', () => {
  const expectedSampleEvents = normalize([
    { kind: 'start', type: Opcode.TEXT },
    { kind: 'text', data: Buffer.from('héllo ✓') },
    { kind: 'end', type: Opcode.TEXT },
    { kind: 'start', type: Opcode.BINARY },
    { kind: 'binary', data: pseudoRandomBytes(300, 1) },
    { kind: 'control', opcode: Opcode.PING, payload: Buffer.from('are you there') },
    { kind: 'binary', data: pseudoRandomBytes(11, 2) },
    { kind: 'end', type: Opcode.BINARY },
    { kind: 'start', type: Opcode.TEXT },
    { kind: 'text', data: Buffer.from('ab') },
    { kind: 'control', opcode: Opcode.PONG, payload: Buffer.alloc(0) },
    { kind: 'text', data: Buffer.from('c') },
    { kind: 'end', type: Opcode.TEXT },
    { kind: 'start', type: Opcode.BINARY },
    { kind: 'end', type: Opcode.BINARY },
    { kind: 'control', opcode: Opcode.CLOSE, payload: closePayload(1000, 'bye') },
  ]);

  it('decodes a mixed stream given whole', () => {
    expect(normalize(parse([sampleStream()]))).to.deep.equal(expectedSampleEvents);
  });

  it('decodes the same events when the input is split at every byte boundary', () => {
    const stream = sampleStream();
    for (let point = 0; point <= stream.length; point++) {
      expect(normalize(parse(splitAt(stream, [point]))), `split at ${point}`).to.deep.equal(expectedSampleEvents);
    }
  });

  it('decodes the same events when fed one byte at a time', () => {
    const stream = sampleStream();
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    expect(normalize(parse(bytes))).to.deep.equal(expectedSampleEvents);
  });

  it('decodes the same events for many random multi-way splits', () => {
    const stream = sampleStream();
    const cutSource = pseudoRandomBytes(4000, 7);
    for (let trial = 0; trial < 500; trial++) {
      const cuts = new Set<number>();
      for (let k = 0; k < 8; k++) cuts.add(cutSource.readUInt16BE((trial * 8 + k) % 3998) % (stream.length + 1));
      const points = [...cuts].sort((a, b) => a - b);
      expect(normalize(parse(splitAt(stream, points))), `cuts ${points.join(',')}`).to.deep.equal(expectedSampleEvents);
    }
  });

  it('handles 16-bit and 64-bit lengths of large frames', () => {
    const medium = pseudoRandomBytes(65_535, 3);
    const large = pseudoRandomBytes(70_000, 4);
    const stream = Buffer.concat([
      buildClientFrame({ opcode: Opcode.BINARY, payload: medium }),
      buildClientFrame({ opcode: Opcode.BINARY, payload: large }),
    ]);
    expect(stream[1]).to.equal(0x80 | 126);
    expect(stream[4 + 4 + medium.length + 1]).to.equal(0x80 | 127);
    const chunks = Array.from({ length: Math.ceil(stream.length / 7919) }, (_, i) => stream.subarray(i * 7919, (i + 1) * 7919));
    expect(normalize(parse(chunks))).to.deep.equal(
      normalize([
        { kind: 'start', type: Opcode.BINARY },
        { kind: 'binary', data: medium },
        { kind: 'end', type: Opcode.BINARY },
        { kind: 'start', type: Opcode.BINARY },
        { kind: 'binary', data: large },
        { kind: 'end', type: Opcode.BINARY },
      ]),
    );
  });

  it('delivers a frame payload piece by piece as it arrives, unmasked with the right phase', () => {
    const payload = pseudoRandomBytes(1001, 5);
    const frame = buildClientFrame({ opcode: Opcode.BINARY, payload });
    const handler = new RecordingHandler();
    const parser = new FrameParser(handler, { maxTextMessageBytes: 100 });
    const headerLength = 8; // 2 + 16-bit length + mask
    let offset = 0;
    for (const size of [headerLength + 1, 2, 3, 4, 5, 6, 7, 500]) {
      parser.push(Buffer.from(frame.subarray(offset, offset + size)));
      offset += size;
      const received = Buffer.concat(handler.events.flatMap((event) => (event.kind === 'binary' ? [event.data] : [])));
      expect(received.equals(payload.subarray(0, offset - headerLength))).to.equal(true);
      expect(handler.events.some((event) => event.kind === 'end')).to.equal(false);
    }
    parser.push(Buffer.from(frame.subarray(offset)));
    expect(handler.events[handler.events.length - 1]).to.deep.equal({ kind: 'end', type: Opcode.BINARY });
  });

  it('hands out payload as zero-copy slices of its input', () => {
    const frame = buildClientFrame({ opcode: Opcode.BINARY, payload: pseudoRandomBytes(5000, 6) });
    const handler = new RecordingHandler();
    new FrameParser(handler, { maxTextMessageBytes: 100 }).push(frame);
    const piece = handler.events.find((event) => event.kind === 'binary');
    expect(piece?.kind).to.equal('binary');
    if (piece?.kind === 'binary') {
      expect(piece.data.buffer).to.equal(frame.buffer);
      expect(piece.data.byteOffset).to.equal(frame.byteOffset + 8);
    }
  });

  it('leaves payload untouched when the mask key is all zeros', () => {
    const payload = pseudoRandomBytes(64, 8);
    const frame = buildClientFrame({ opcode: Opcode.BINARY, payload, mask: Buffer.alloc(4) });
    const events = parse([frame]);
    expect(normalize(events)[1]).to.deep.equal({ kind: 'binary', hex: payload.toString('hex') });
  });

  describe('protocol errors', () => {
    const cases: { name: string; frames: Buffer[]; code: number }[] = [
      {
        name: 'an unmasked frame',
        frames: [buildClientFrame({ opcode: Opcode.TEXT, payload: Buffer.from('hi'), mask: null })],
        code: 1002,
      },
      { name: 'RSV1 set', frames: [buildClientFrame({ opcode: Opcode.TEXT, payload: Buffer.from('hi'), rsvBits: 0x40 })], code: 1002 },
      { name: 'RSV3 set', frames: [buildClientFrame({ opcode: Opcode.BINARY, rsvBits: 0x10 })], code: 1002 },
      { name: 'unknown data opcode 0x3', frames: [buildClientFrame({ opcode: 0x3 })], code: 1002 },
      { name: 'unknown control opcode 0xB', frames: [buildClientFrame({ opcode: 0xb })], code: 1002 },
      { name: 'a 126-byte control frame', frames: [buildClientFrame({ opcode: Opcode.PING, payload: Buffer.alloc(126) })], code: 1002 },
      { name: 'a fragmented control frame', frames: [buildClientFrame({ opcode: Opcode.PING, fin: false })], code: 1002 },
      {
        name: 'a continuation without a message',
        frames: [buildClientFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.from('x') })],
        code: 1002,
      },
      {
        name: 'a new data frame inside a fragmented message',
        frames: [
          buildClientFrame({ opcode: Opcode.BINARY, fin: false, payload: Buffer.from('x') }),
          buildClientFrame({ opcode: Opcode.TEXT, payload: Buffer.from('y') }),
        ],
        code: 1002,
      },
      {
        name: 'a 64-bit length with its most significant bit set',
        frames: [buildClientFrame({ opcode: Opcode.BINARY, announcedLength: 0, lengthEncoding: 64 }).fill(0x80, 2, 3)],
        code: 1002,
      },
      {
        name: 'a single text frame above the limit',
        frames: [buildClientFrame({ opcode: Opcode.TEXT, payload: Buffer.alloc(11, 0x61) })],
        code: 1009,
      },
      {
        name: 'a fragmented text message above the limit',
        frames: [
          buildClientFrame({ opcode: Opcode.TEXT, fin: false, payload: Buffer.alloc(6, 0x61) }),
          buildClientFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.alloc(5, 0x61) }),
        ],
        code: 1009,
      },
    ];

    for (const { name, frames, code } of cases) {
      it(`rejects ${name} with ${code} and then ignores input`, () => {
        const handler = new RecordingHandler();
        const parser = new FrameParser(handler, { maxTextMessageBytes: 10 });
        for (const frame of frames) parser.push(Buffer.from(frame));
        parser.push(buildClientFrame({ opcode: Opcode.TEXT, payload: Buffer.from('after') }));
        const errors = handler.events.filter((event) => event.kind === 'error');
        expect(errors).to.have.length(1);
        expect(errors[0]).to.include({ code });
        expect(handler.events[handler.events.length - 1]?.kind).to.equal('error');
        expect(parser.stopped).to.equal(true);
      });
    }

    it('accepts binary messages of any size and text exactly at the limit', () => {
      const events = parse(
        [
          buildClientFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(1000) }),
          buildClientFrame({ opcode: Opcode.TEXT, fin: false, payload: Buffer.alloc(5, 0x61) }),
          buildClientFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.alloc(5, 0x61) }),
        ],
        10,
      );
      expect(events.some((event) => event.kind === 'error')).to.equal(false);
      expect(events.filter((event) => event.kind === 'end')).to.have.length(2);
    });
  });

  it('holds the announced length of a text message against a shared budget until it ends; 1013 past it', () => {
    const budget = new ByteBudget(10);
    const handler = new RecordingHandler();
    const parser = new FrameParser(handler, { maxTextMessageBytes: 100, textBudget: budget });
    parser.push(buildClientFrame({ opcode: Opcode.TEXT, fin: false, payload: Buffer.from('abcdef') }));
    expect(budget.used).to.equal(6);
    parser.push(buildClientFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.from('ghi') }));
    expect(budget.used).to.equal(0);
    parser.push(buildClientFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(50) })); // binary never counts
    expect(budget.used).to.equal(0);

    const other = new FrameParser(new RecordingHandler(), { maxTextMessageBytes: 100, textBudget: budget });
    other.push(buildClientFrame({ opcode: Opcode.TEXT, fin: false, payload: Buffer.alloc(8, 0x61) }));
    parser.push(buildClientFrame({ opcode: Opcode.TEXT, payload: Buffer.from('abc') }));
    expect(handler.events[handler.events.length - 1]).to.include({ kind: 'error', code: 1013 });
    expect(budget.used).to.equal(8);
    other.stop(); // e.g. its connection closed mid-message
    expect(budget.used).to.equal(0);
  });

  it('stops mid-chunk when a handler calls stop()', () => {
    const events: string[] = [];
    const parser: FrameParser = new FrameParser(
      {
        onMessageStart: () => {},
        onTextPayload: () => {},
        onBinaryPayload: () => {},
        onMessageEnd: () => {},
        onControlFrame: (opcode) => {
          events.push(`control ${opcode}`);
          if (opcode === Opcode.CLOSE) parser.stop();
        },
        onProtocolError: () => events.push('error'),
      },
      { maxTextMessageBytes: 10 },
    );
    parser.push(
      Buffer.concat([
        buildClientFrame({ opcode: Opcode.PING }),
        buildClientFrame({ opcode: Opcode.CLOSE }),
        buildClientFrame({ opcode: Opcode.PING }),
      ]),
    );
    expect(events).to.deep.equal([`control ${Opcode.PING}`, `control ${Opcode.CLOSE}`]);
  });
});
