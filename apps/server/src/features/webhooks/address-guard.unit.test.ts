import { describe, expect, it } from 'vitest';
import { checkEndpointUrl, forbiddenReason, type HostLookup } from './address-guard.ts';
import { retryDelayMs } from './webhooks-service.ts';

describe('webhook address guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.100.100.200', 'carrier-grade NAT'],
    ['0.0.0.0', 'this network'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fd00:ec2::254', 'unique-local'],
    ['fc00::1', 'unique-local'],
    ['fe80::1%eth0', 'link-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:0a00:0001::1', 'private'],
    ['ff02::1', 'multicast'],
  ])('refuses %s (%s)', (address, why) => {
    expect(forbiddenReason(address)).toContain(why);
  });

  // Every IPv6 form that carries an IPv4 address is judged by the address it carries.
  it.each([
    // IPv4-translated ::ffff:0:0/96 (SIIT), as text and as the URL parser writes it.
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['::ffff:0:10.0.0.1', 'private'],
    ['::ffff:0:169.254.169.254', 'link-local'],
    ['0:0:0:0:ffff:0:a9fe:a9fe', 'link-local'],
    // IPv4-mapped and IPv4-compatible, in hex too.
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:192.168.1.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['::a00:1', 'private'],
    ['::0.0.0.2', 'this network'],
    // NAT64, well-known prefix; the local-use prefix whatever it carries.
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::c0a8:101', 'private'],
    ['64:ff9b:1::8.8.8.8', 'local NAT64'],
    ['64:ff9b:1:ffff::a00:1', 'local NAT64'],
    // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
    ['2002:7f00:1::1', 'loopback'],
    ['2002:a9fe:a9fe::', 'link-local'],
    ['2002:c0a8:0101:1::1', 'private'],
    ['2002:6440:0001::1', 'carrier-grade NAT'],
    // Teredo, whatever it carries (here a public server and client).
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'Teredo'],
    ['2001:0:7f00:1::1', 'Teredo'],
    // The rest of ::/8 and everything outside global unicast.
    ['64:ff9b:0:0:1::1', 'reserved'],
    ['::1:0:0:0', 'reserved'],
    ['4000::1', 'reserved'],
    ['2001:2::1', 'benchmarking'],
    ['3fff::1', 'documentation'],
  ])('refuses %s, which carries or is %s', (address, why) => {
    expect(forbiddenReason(address)).toContain(why);
  });

  it.each(['::ffff:0:8.8.8.8', '::ffff:0:808:808', '2002:0808:0808::1', '64:ff9b::1.1.1.1'])(
    'accepts %s, which carries a public IPv4 address',
    (address) => {
      expect(forbiddenReason(address)).toBeUndefined();
    },
  );

  it('refuses the IPv4-translated loopback as a webhook URL', async () => {
    const guard = { allowPrivate: false, lookup: async () => [] };
    expect(await checkEndpointUrl('http://[::ffff:0:127.0.0.1]:8080/', guard)).toMatchObject({
      field: 'url',
      code: 'private_address',
    });
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '172.32.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('accepts the public address %s', (address) => {
    expect(forbiddenReason(address)).toBeUndefined();
  });

  const lookup =
    (answers: Record<string, string[]>): HostLookup =>
    async (host) => {
      const found = answers[host];
      if (!found) throw new Error('ENOTFOUND');
      return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };

  it('checks every address a host resolves to, and names the field', async () => {
    const guard = {
      allowPrivate: false,
      lookup: lookup({
        'hooks.example.com': ['93.184.215.14'],
        'mixed.example.com': ['93.184.215.14', '10.0.0.7'],
        'metadata.example.com': ['169.254.169.254'],
      }),
    };
    expect(await checkEndpointUrl('https://hooks.example.com/onramp', guard)).toBeUndefined();
    expect(await checkEndpointUrl('https://mixed.example.com/', guard)).toMatchObject({
      field: 'url',
      code: 'private_address',
      message: expect.stringContaining('10.0.0.7'),
    });
    expect(await checkEndpointUrl('http://metadata.example.com/latest', guard)).toMatchObject({
      code: 'private_address',
    });
    expect(await checkEndpointUrl('http://[::ffff:10.0.0.1]/', guard)).toMatchObject({
      code: 'private_address',
    });
    expect(await checkEndpointUrl('https://nowhere.example.com/', guard)).toMatchObject({
      code: 'unresolvable',
    });
    expect(await checkEndpointUrl('ftp://hooks.example.com/', guard)).toMatchObject({
      code: 'invalid_url',
    });
    expect(await checkEndpointUrl('https://user:pw@hooks.example.com/', guard)).toMatchObject({
      code: 'invalid_url',
    });
    expect(await checkEndpointUrl('not a url', guard)).toMatchObject({ code: 'invalid_url' });
    // The operator may allow private addresses (labs, tests).
    expect(
      await checkEndpointUrl('http://127.0.0.1:9/hook', { ...guard, allowPrivate: true }),
    ).toBeUndefined();
  });

  it('retries 30 s after the first failure, doubling, at most an hour apart', () => {
    expect([1, 2, 3, 4, 7, 8, 20].map(retryDelayMs)).toEqual([
      30_000, 60_000, 120_000, 240_000, 1_920_000, 3_600_000, 3_600_000,
    ]);
  });
});
