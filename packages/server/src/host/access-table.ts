import { describeRule } from '../protocols/access-rule.js';
import type { Host } from './host.js';

/**
 * The permission table of every mounted entry — HTTP routes, WebSocket endpoints and
 * their messages, requests of TCP protocols — as the Markdown rows docs/access-control.md
 * shows (a test keeps the two equal): `| protocol | entry | needs |`.
 */
export function accessTableRows(host: Pick<Host, 'routes' | 'endpoints' | 'tcpMounts'>): string[] {
  const rows: string[] = [];
  for (const { protocol, path, route } of host.routes) {
    rows.push(`| ${protocol} | \`${route.method} ${path}\` | ${describeRule(route.access)} |`);
  }
  for (const { protocol, endpoint } of host.endpoints) {
    const path = endpoint.prefix ? `${endpoint.path}{rest}` : endpoint.path;
    rows.push(`| ${protocol} | WebSocket \`${path}\` | ${describeRule(endpoint.access)} |`);
    for (const [type, rule] of Object.entries(endpoint.messages ?? {})) {
      rows.push(`| ${protocol} | … message \`${type}\` | ${describeRule(rule)} |`);
    }
  }
  for (const { protocol, mount } of host.tcpMounts) {
    for (const [request, rule] of Object.entries(mount.requests)) {
      rows.push(`| ${protocol} | TCP request \`${request}\` | ${describeRule(rule)} |`);
    }
  }
  return rows;
}
