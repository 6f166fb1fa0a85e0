import { safeTextSchema } from '@onramp/contracts';
import type { Config } from '../../config.ts';
import { ConfigError } from '../../config.ts';
import {
  type LogoType,
  logoProblem,
  returnUrlListProblems,
  sniffLogoType,
  supportUrlProblem,
} from './brand-values.ts';

/** The brand as configuration sets it (ONRAMP_BRAND_*, ONRAMP_CONNECT_RETURN_URLS): it wins while set. */
export interface BrandConfig {
  name?: string;
  logo?: { contentType: LogoType; bytes: Uint8Array };
  colors?: { primary?: string; accent?: string };
  supportUrl?: string;
  returnUrls?: readonly string[];
}

const brandNameSchema = safeTextSchema({ min: 1, max: 60 });

/**
 * Reads and checks the configured brand once, at start-up (the logo file too, by its bytes), and
 * refuses to start naming every problem, as the rest of the configuration does.
 */
export function brandConfigFrom(
  config: Pick<
    Config,
    | 'brandName'
    | 'brandLogoFile'
    | 'brandPrimaryColor'
    | 'brandAccentColor'
    | 'brandSupportUrl'
    | 'connectReturnUrls'
  >,
  readFile: (path: string) => Uint8Array,
): BrandConfig {
  const problems: string[] = [];
  const brand: BrandConfig = {};
  if (config.brandName !== undefined) {
    const name = brandNameSchema.safeParse(config.brandName);
    if (name.success) brand.name = name.data;
    else problems.push(`ONRAMP_BRAND_NAME ${name.error.issues[0]?.message ?? 'is not valid'}`);
  }
  if (config.brandLogoFile !== undefined) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = readFile(config.brandLogoFile);
    } catch (error) {
      problems.push(
        `ONRAMP_BRAND_LOGO_FILE (${config.brandLogoFile}) cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (bytes) {
      const problem = logoProblem(bytes);
      const contentType = sniffLogoType(bytes);
      if (problem || !contentType)
        problems.push(`ONRAMP_BRAND_LOGO_FILE (${config.brandLogoFile}) ${problem}`);
      else brand.logo = { contentType, bytes };
    }
  }
  if (config.brandPrimaryColor || config.brandAccentColor) {
    brand.colors = {
      ...(config.brandPrimaryColor ? { primary: config.brandPrimaryColor.toLowerCase() } : {}),
      ...(config.brandAccentColor ? { accent: config.brandAccentColor.toLowerCase() } : {}),
    };
  }
  if (config.brandSupportUrl !== undefined) {
    const problem = supportUrlProblem(config.brandSupportUrl);
    if (problem) problems.push(`ONRAMP_BRAND_SUPPORT_URL ${problem}`);
    else brand.supportUrl = config.brandSupportUrl;
  }
  if (config.connectReturnUrls.length > 0) {
    const found = returnUrlListProblems(config.connectReturnUrls, 'ONRAMP_CONNECT_RETURN_URLS');
    problems.push(...found.map((p) => `${p.field}: ${p.message}`));
    brand.returnUrls = config.connectReturnUrls;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return brand;
}
