export { ByteBudget } from './byte-budget.js';
export { decodeClosePayload, encodeClosePayload, isValidCloseCode, NO_STATUS_RECEIVED } from './close-frame.js';
export {
  type BinaryMessageSource,
  type WsCloseInfo,
  WsConnection,
  type WsConnectionEvents,
  type WsConnectionInit,
  type WsConnectionOptions,
} from './connection.js';
export { type EncodableMessage, EncodedFrames } from './encoded-frames.js';
export { FrameParser, type FrameParserHandler, type FrameParserOptions, WsProtocolError } from './frame-parser.js';
export { encodeControlFrame, encodeFrameHeader } from './frame-writer.js';
export { acceptWebSocket, rejectUpgrade, type WsHandshakeOptions } from './handshake.js';
export { type ControlOpcode, type DataOpcode, Opcode } from './opcodes.js';
export { nativeUnmaskAvailable, unmaskInPlace } from './unmask.js';
