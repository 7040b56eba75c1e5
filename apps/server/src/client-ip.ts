/**
 * The client's address for a WebSocket upgrade, by the rule Fastify applies to HTTP requests
 * (TRUST_PROXY), so that IP-keyed limits count clients, not the proxy in front of them.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

const NAMED_PROXY_RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** The proxies TRUST_PROXY names (addresses, CIDRs, or proxy-addr's range names), or null. */
export function trustedProxies(list: string[]): BlockList | null {
  if (list.length === 0) return null;
  const trusted = new BlockList();
  for (const entry of list.flatMap((e) => NAMED_PROXY_RANGES[e] ?? [e])) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, Number(bits), family);
  }
  return trusted;
}

/**
 * A WebSocket client's address by the rule Fastify applies to HTTP requests (trustProxy): walk
 * X-Forwarded-For from the right while the hop we have is a trusted proxy. Without it every socket
 * behind nginx would share the proxy's address, and its IP-keyed rate limits.
 */
export function socketClientIp(req: IncomingMessage, trusted: BlockList | null): string {
  let ip = req.socket.remoteAddress ?? 'unknown';
  if (!trusted) return ip;
  const hops = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => isIP(h) !== 0);
  const isTrusted = (a: string) => isIP(a) !== 0 && trusted.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
  while (hops.length > 0 && isTrusted(ip)) ip = hops.pop()!;
  return ip;
}
