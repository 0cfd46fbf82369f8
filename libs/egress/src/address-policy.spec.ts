import { AddressPolicy, refusedRange } from './address-policy';

describe(AddressPolicy.name, () => {
  const strict = new AddressPolicy();

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.10.0.5', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.100.100.200', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fd00::1', 'uniqueLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['fc00::5', 'uniqueLocal'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::ffff:10.0.0.1', 'private'],
    ['::7f00:1', '::/96'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['2002:7f00:1::', '6to4'],
    ['2001:0:4136:e378::1', 'teredo'],
    ['fec0::1', 'deprecatedSiteLocal'],
    ['ff02::1', 'multicast'],
  ])('refuses %s (%s)', (ip, range) => {
    expect(refusedRange(ip)).toBe(range);
    expect(strict.check(ip, 'example.com')).toEqual({ allowed: false, range });
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows the public address %s', (ip) => {
    expect(refusedRange(ip)).toBeNull();
    expect(strict.check(ip, 'example.com')).toEqual({ allowed: true });
  });

  it('refuses what is not an address', () => {
    expect(strict.check('not-an-ip', 'x')).toEqual({ allowed: false, range: 'invalid' });
  });

  it('allows the addresses and CIDRs an operator listed, IPv4-mapped forms included, and nothing next to them', () => {
    const policy = new AddressPolicy(['127.0.0.1', '10.1.2.0/24', 'fd00:1::/32', '[::1]']);
    expect(policy.check('127.0.0.1', 'x').allowed).toBe(true);
    expect(policy.check('::ffff:127.0.0.1', 'x').allowed).toBe(true);
    expect(policy.check('127.0.0.2', 'x').allowed).toBe(false);
    expect(policy.check('10.1.2.200', 'x').allowed).toBe(true);
    expect(policy.check('10.1.3.1', 'x').allowed).toBe(false);
    expect(policy.check('fd00:1:2::3', 'x').allowed).toBe(true);
    expect(policy.check('fd00:2::3', 'x').allowed).toBe(false);
    expect(policy.check('::1', 'x').allowed).toBe(true);
    expect(policy.check('169.254.169.254', 'x').allowed).toBe(false);
  });

  it('allows a host listed by name whatever it resolves to, and only that host', () => {
    const policy = new AddressPolicy(['images.internal', 'Cdn.Example.']);
    expect(policy.check('10.0.0.7', 'images.internal').allowed).toBe(true);
    expect(policy.check('10.0.0.7', 'IMAGES.internal').allowed).toBe(true);
    expect(policy.check('10.0.0.7', 'cdn.example').allowed).toBe(true);
    expect(policy.check('10.0.0.7', 'other.internal').allowed).toBe(false);
  });

  it('takes a CIDR of IPv4-mapped addresses as the IPv4 CIDR it covers', () => {
    const policy = new AddressPolicy(['::ffff:10.1.0.0/112']);
    expect(policy.check('10.1.4.4', 'x').allowed).toBe(true);
    expect(policy.check('10.2.0.1', 'x').allowed).toBe(false);
  });

  it('refuses an entry that is neither a host nor an address at start, naming it', () => {
    expect(() => new AddressPolicy(['10.0.0.0/33'])).toThrow(/"10.0.0.0\/33" is not a CIDR/);
    expect(() => new AddressPolicy(['bad host!'])).toThrow(/"bad host!" is neither/);
  });
});
