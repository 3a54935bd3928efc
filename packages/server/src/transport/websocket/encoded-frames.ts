import { encodeFrameHeader } from './frame-writer.js';
import { Opcode } from './opcodes.js';

/** One whole message to encode: text, or binary given as pieces (sent as one frame). */
export type EncodableMessage = { readonly text: string } | { readonly binary: readonly Buffer[] };

/**
 * Whole messages (each one FIN frame) encoded into one buffer, ready to be written as it
 * is to any number of connections: a push shared by a thousand followers is encoded once
 * and costs each of them one socket write, without a copy. Only built here, from whole
 * messages, so a connection can never write half a frame; never modified once built.
 */
export class EncodedFrames {
  private constructor(readonly bytes: Buffer) {}

  static encode(messages: readonly EncodableMessage[]): EncodedFrames {
    const parts: Buffer[] = [];
    for (const message of messages) {
      if ('text' in message) {
        const payload = Buffer.from(message.text, 'utf8');
        parts.push(encodeFrameHeader(Opcode.TEXT, true, payload.length), payload);
      } else {
        let length = 0;
        for (const piece of message.binary) length += piece.length;
        parts.push(encodeFrameHeader(Opcode.BINARY, true, length), ...message.binary);
      }
    }
    return new EncodedFrames(Buffer.concat(parts));
  }

  /** These frames followed by `others`' (one write instead of several). */
  concat(...others: readonly EncodedFrames[]): EncodedFrames {
    return new EncodedFrames(Buffer.concat([this.bytes, ...others.map((frames) => frames.bytes)]));
  }
}
