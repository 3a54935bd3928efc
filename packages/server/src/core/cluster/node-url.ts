import { networkInterfaces } from 'node:os';
import type { SpoolConfig } from '../../config/schema.js';

/** The first non-internal IPv4 address of this machine, else the loopback. */
function machineAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return '127.0.0.1';
}

/**
 * The origin other nodes reach this one at (`nodeUrl`, without a trailing slash), else
 * the bound address: an address listening on every interface is no address to dial, so
 * this machine's own address stands for it.
 */
export function nodeUrlOf(config: Pick<SpoolConfig, 'nodeUrl' | 'host'>, port: number): string {
  if (config.nodeUrl) return new URL(config.nodeUrl).origin;
  const host = config.host === '0.0.0.0' || config.host === '::' ? machineAddress() : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
