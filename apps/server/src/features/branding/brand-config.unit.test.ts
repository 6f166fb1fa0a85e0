import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../config.ts';
import { brandConfigFrom } from './brand-config.ts';
import { sniffLogoType, supportUrlProblem } from './brand-values.ts';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
const none = { connectReturnUrls: [] as string[] };
const files = (content: Record<string, Uint8Array>) => (path: string) => {
  const bytes = content[path];
  if (!bytes) throw new Error(`ENOENT: no such file, open '${path}'`);
  return bytes;
};
const problemsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('the brand read from configuration at start-up', () => {
  it('reads the logo once, by its bytes, and keeps the rest as given', () => {
    const brand = brandConfigFrom(
      {
        ...none,
        brandName: 'Acme Cloud',
        brandLogoFile: '/etc/onramp/logo.png',
        brandPrimaryColor: '#1F4FD1',
        brandSupportUrl: 'mailto:help@acme.example',
        connectReturnUrls: ['https://app.acme.example'],
      },
      files({ '/etc/onramp/logo.png': PNG }),
    );
    expect(brand).toEqual({
      name: 'Acme Cloud',
      logo: { contentType: 'image/png', bytes: PNG },
      colors: { primary: '#1f4fd1' },
      supportUrl: 'mailto:help@acme.example',
      returnUrls: ['https://app.acme.example'],
    });
  });

  it('refuses to start naming every problem', () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>');
    const problems = problemsOf(() =>
      brandConfigFrom(
        {
          brandName: 'Acme\u0000Cloud',
          brandLogoFile: '/logo.svg',
          brandSupportUrl: 'javascript:alert(1)',
          connectReturnUrls: ['http://app.acme.example'],
        },
        files({ '/logo.svg': svg }),
      ),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^ONRAMP_BRAND_NAME must not contain/),
      expect.stringMatching(/^ONRAMP_BRAND_LOGO_FILE \(\/logo\.svg\) is not a whole PNG/),
      expect.stringMatching(/^ONRAMP_BRAND_SUPPORT_URL must be an https URL or mailto:/),
      expect.stringMatching(/^ONRAMP_CONNECT_RETURN_URLS\[0\]: .* must use https/),
    ]);
    expect(
      problemsOf(() => brandConfigFrom({ ...none, brandLogoFile: '/missing.png' }, files({}))),
    ).toEqual([expect.stringMatching(/^ONRAMP_BRAND_LOGO_FILE \(\/missing\.png\) cannot be read/)]);
    const big = Buffer.concat([PNG.subarray(0, 33), Buffer.alloc(257 * 1024), PNG.subarray(33)]);
    expect(
      problemsOf(() =>
        brandConfigFrom({ ...none, brandLogoFile: '/big.png' }, files({ '/big.png': big })),
      ),
    ).toEqual([expect.stringMatching(/is 258 KiB; the limit is 256 KiB/)]);
  });
});

describe('what a logo is, by its bytes', () => {
  it('takes whole PNG, JPEG and WebP images and nothing that only starts like one', () => {
    expect(sniffLogoType(PNG)).toBe('image/png');
    expect(sniffLogoType(Buffer.concat([PNG.subarray(0, 8), Buffer.from('<html>')]))).toBe(
      undefined,
    );
    expect(sniffLogoType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0xff, 0xd9]))).toBe(
      'image/jpeg',
    );
    expect(sniffLogoType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x3c, 0x68]))).toBe(undefined);
    const webp = Buffer.from('RIFF\u0000\u0000\u0000\u0000WEBPVP8 ', 'latin1');
    webp.writeUInt32LE(webp.length - 8, 4);
    expect(sniffLogoType(webp)).toBe('image/webp');
    webp.writeUInt32LE(1000, 4);
    expect(sniffLogoType(webp)).toBe(undefined);
  });

  it('offers only https and mailto support links', () => {
    expect(supportUrlProblem('https://help.acme.example/aws')).toBeUndefined();
    expect(supportUrlProblem('mailto:help@acme.example')).toBeUndefined();
    for (const bad of [
      'javascript:alert(1)',
      'http://help.acme.example',
      'mailto:',
      'help',
      'https://u:p@x.example',
    ])
      expect(supportUrlProblem(bad), bad).toBeDefined();
  });
});
