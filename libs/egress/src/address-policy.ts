import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

/**
 * Ranges refused whatever ipaddr.js names them (2.x names benchmarking and site-local `reserved`
 * and `deprecatedSiteLocal`; the list keeps them refused if a version calls them unicast). IPv4:
 * benchmarking (198.18.0.0/15). IPv6: the deprecated IPv4-compatible block (::/96:
 * `::127.0.0.1`) and site-local (fec0::/10). IPv6 blocks
 * that embed an IPv4 address and translate to it (NAT64 64:ff9b::/96, 6to4, Teredo, SIIT) are
 * refused by their ipaddr.js names below: through them an IPv6 address can reach an IPv4 one.
 */
const EXTRA_REFUSED: readonly Cidr[] = [ipaddr.parseCIDR('198.18.0.0/15'), ipaddr.parseCIDR('::/96'), ipaddr.parseCIDR('fec0::/10')];

/** Why an address is refused (its range), or null for a public unicast address. */
export function refusedRange(ip: string): string | null {
  let address: Address;
  try {
    address = ipaddr.parse(ip);
  } catch {
    return 'invalid';
  }
  if (address.kind() === 'ipv6') {
    const v6 = address as ipaddr.IPv6;
    // ::ffff:a.b.c.d reaches a.b.c.d: judge the IPv4 address it carries.
    if (v6.isIPv4MappedAddress()) return refusedRange(v6.toIPv4Address().toString());
  }
  const range = address.range();
  if (range !== 'unicast') return range;
  const extra = EXTRA_REFUSED.find(([net, bits]) => net.kind() === address.kind() && (address as ipaddr.IPv4).match(net as ipaddr.IPv4, bits));
  return extra ? `${extra[0].toString()}/${extra[1]}` : null;
}

/** Address form without brackets or an IPv4-mapped wrapper, for comparison. */
function normalized(ip: string): Address {
  const address = ipaddr.parse(ip);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) return (address as ipaddr.IPv6).toIPv4Address();
  return address;
}

/** A CIDR of IPv4-mapped IPv6 addresses (::ffff:10.0.0.0/104) as the IPv4 CIDR it covers. */
function unmappedCidr([net, bits]: Cidr): Cidr {
  if (net.kind() === 'ipv6' && bits >= 96 && (net as ipaddr.IPv6).isIPv4MappedAddress()) return [(net as ipaddr.IPv6).toIPv4Address(), bits - 96];
  return [net, bits];
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/** What the policy decided for one address: allowed, or refused with the range that refused it. */
export type Verdict = { allowed: true } | { allowed: false; range: string };

/**
 * Which addresses Argus may connect to on a client's behalf (image URLs, webhooks): public
 * unicast addresses, plus the hosts and CIDRs an operator allowed (URL_FETCH_ALLOW). Loopback,
 * private, link-local (cloud metadata at 169.254.169.254), unique-local (fd00::/8), unspecified,
 * multicast, reserved and IPv4-embedding IPv6 ranges are refused, IPv4-mapped IPv6 addresses by
 * the IPv4 address they carry.
 */
export class AddressPolicy {
  private readonly hosts = new Set<string>();
  private readonly cidrs: Cidr[] = [];

  /** `allow`: host names and IP addresses or CIDRs; throws naming an entry that is neither. */
  constructor(allow: readonly string[] = []) {
    for (const raw of allow) {
      const entry = raw.trim().replace(/^\[(.*)\]$/, '$1');
      if (entry === '') continue;
      if (entry.includes('/')) {
        try {
          this.cidrs.push(unmappedCidr(ipaddr.parseCIDR(entry)));
        } catch {
          throw new Error(`URL_FETCH_ALLOW: "${entry}" is not a CIDR (e.g. 10.0.0.0/8, fd00::/8)`);
        }
      } else if (isIP(entry)) {
        const address = normalized(entry);
        this.cidrs.push([address, address.kind() === 'ipv4' ? 32 : 128]);
      } else if (HOSTNAME.test(entry)) {
        this.hosts.add(entry.toLowerCase().replace(/\.$/, ''));
      } else {
        throw new Error(`URL_FETCH_ALLOW: "${entry}" is neither a host name nor an IP address or CIDR`);
      }
    }
  }

  /** Whether a host name was allowed by name (then any address it resolves to is). */
  allowsHost(host: string): boolean {
    return this.hosts.has(host.toLowerCase().replace(/\.$/, ''));
  }

  /** The verdict on connecting to `ip` for a URL naming `host`. */
  check(ip: string, host: string): Verdict {
    if (this.allowsHost(host)) return { allowed: true };
    const range = refusedRange(ip);
    if (range === null) return { allowed: true };
    if (range === 'invalid') return { allowed: false, range };
    const address = normalized(ip);
    if (this.cidrs.some(([net, bits]) => net.kind() === address.kind() && (address as ipaddr.IPv4).match(net as ipaddr.IPv4, bits))) return { allowed: true };
    return { allowed: false, range };
  }
}
