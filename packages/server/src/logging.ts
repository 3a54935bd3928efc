import winston from 'winston';
import type { SpoolConfig } from './config/schema.js';

/** Structured logs on stderr; protocols log through child loggers carrying session/resource ids. */
export function createLogger(config: Pick<SpoolConfig, 'logLevel' | 'logFormat'>): winston.Logger {
  const format =
    config.logFormat === 'pretty'
      ? winston.format.combine(winston.format.timestamp(), winston.format.colorize(), winston.format.simple())
      : winston.format.combine(winston.format.timestamp(), winston.format.json());
  return winston.createLogger({
    level: config.logLevel,
    format,
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
