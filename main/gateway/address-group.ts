import { isIPv6 } from 'node:net';

/**
 * The unit the gateway counts a peer by: an IPv4 address, or the /64 an IPv6 address is in.
 * One IPv6 host is routinely given a whole /64 (SLAAC, privacy addresses), so counting its
 * addresses one by one would give it 2^64 allowances — of connections, and of log lines.
 * An IPv4-mapped IPv6 address (`::ffff:198.51.100.7`) is the IPv4 address it maps.
 */
export function addressGroup(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return address;
  return `${expandIPv6(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, without leading zeros. */
function expandIPv6(address: string): string[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): string[] => {
    if (!part) return [];
    // A trailing dotted IPv4 part fills the last two groups.
    return part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  };
  const left = groups(head);
  const right = groups(tail);
  const middle = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...middle, ...right].map((g) => parseInt(g, 16).toString(16));
}
