/** WebSocket frame opcodes (RFC 6455 §5.2). */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Opcodes that start a data message. */
export type DataOpcode = typeof Opcode.TEXT | typeof Opcode.BINARY;
/** Opcodes of control frames (never fragmented, payload ≤ 125 bytes). */
export type ControlOpcode = typeof Opcode.CLOSE | typeof Opcode.PING | typeof Opcode.PONG;

/** Largest payload of a control frame. */
export const MAX_CONTROL_PAYLOAD_BYTES = 125;
