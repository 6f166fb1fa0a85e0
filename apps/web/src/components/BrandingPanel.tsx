import { updateOperatorSettingsRequestSchema } from '@onramp/contracts';
import type { OnrampClient, OperatorSettings } from '@onramp/sdk';
import { type ChangeEvent, useCallback, useEffect, useRef, useState } from 'react';
import { BRAND_CHANGED_EVENT, mix } from '../lib/branding.tsx';
import { describeError, useForm, validateWith } from '../lib/forms.ts';
import { Alert, Button, Card, Field, OtherErrors, Spinner, TextInput } from './ui.tsx';

const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const MAX_LOGO_BYTES = 256 * 1024;

type Configurable = OperatorSettings['fromConfiguration'][number];

/** Why a value cannot be changed here: configuration sets it, and wins while it does. */
const CONFIGURED_BY: Record<Configurable, string> = {
  brandName: 'ONRAMP_BRAND_NAME',
  colors: 'ONRAMP_BRAND_PRIMARY_COLOR / ONRAMP_BRAND_ACCENT_COLOR',
  supportUrl: 'ONRAMP_BRAND_SUPPORT_URL',
  logo: 'ONRAMP_BRAND_LOGO_FILE',
  returnUrls: 'ONRAMP_CONNECT_RETURN_URLS',
};

/**
 * The operator's brand, as customers see it in the console, hosted connect sessions, templates and
 * steps: name, colours (with a live preview), support link, logo, and the return URLs hosted sessions
 * may send the browser back to. What configuration sets is shown read-only, with the variable.
 */
export function BrandingPanel({ client }: { client: OnrampClient }) {
  const [settings, setSettings] = useState<OperatorSettings | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [saved, setSaved] = useState<string | undefined>();
  const { form, setForm, errors, setErrors, busy, field, submit, onSubmit } = useForm({
    brandName: '',
    primary: '#2f4a6d',
    accent: '#3c7a5a',
    supportUrl: '',
    returnUrls: '',
  });

  const show = useCallback(
    (next: OperatorSettings) => {
      setSettings(next);
      setForm({
        brandName: next.branding.name,
        primary: next.branding.colors.primary,
        accent: next.branding.colors.accent,
        supportUrl: next.branding.supportUrl ?? '',
        returnUrls: next.returnUrls.join('\n'),
      });
    },
    [setForm],
  );

  useEffect(() => {
    client.branding
      .settings()
      .then(show, (failure: unknown) => setLoadError(describeError(failure)));
  }, [client, show]);

  if (loadError)
    return (
      <Alert tone="danger" title="The brand could not be loaded">
        {loadError}
      </Alert>
    );
  if (!settings) return <Spinner />;
  const configured = (key: Configurable) => settings.fromConfiguration.includes(key);
  const why = (key: Configurable) =>
    configured(key) ? `Set by configuration (${CONFIGURED_BY[key]}); change it there.` : undefined;

  /**
   * Saved: the form shows what was saved. A logo uploaded or removed changes the logo only: the
   * values being typed in the form stay until they are saved.
   */
  const changed =
    (message: string, { logoOnly = false } = {}) =>
    (next: OperatorSettings) => {
      if (logoOnly) setSettings(next);
      else show(next);
      setSaved(message);
      window.dispatchEvent(new Event(BRAND_CHANGED_EVENT));
    };

  const save = () => {
    setSaved(undefined);
    const urls = form.returnUrls
      .split('\n')
      .map((u) => u.trim())
      .filter(Boolean);
    const body = {
      ...(configured('brandName') ? {} : { brandName: form.brandName }),
      ...(configured('colors') ? {} : { colors: { primary: form.primary, accent: form.accent } }),
      ...(configured('supportUrl') ? {} : { supportUrl: form.supportUrl.trim() || null }),
      returnUrls: urls,
    };
    const checked = validateWith(updateOperatorSettingsRequestSchema, body);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    return submit(async () =>
      changed('The brand is saved.')(await client.branding.updateSettings(checked.data)),
    );
  };

  const upload = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setSaved(undefined);
    if (!LOGO_TYPES.includes(file.type)) {
      setErrors({
        logo: {
          message: `${file.name} is ${file.type || 'of no known type'}; upload a PNG, JPEG or WebP image.`,
          hint: 'SVG is refused: it can carry script.',
        },
      });
      return;
    }
    if (file.size > MAX_LOGO_BYTES) {
      setErrors({
        logo: {
          message: `${file.name} is ${Math.ceil(file.size / 1024)} KiB; the limit is 256 KiB.`,
        },
      });
      return;
    }
    await submit(async () =>
      changed('The logo is uploaded.', { logoOnly: true })(
        await client.branding.putLogo(file, file.type),
      ),
    );
  };

  const removeLogo = () =>
    submit(async () =>
      changed('The logo is removed.', { logoOnly: true })(await client.branding.deleteLogo()),
    );

  return (
    <Card title="Branding">
      <p className="muted">
        Your product as your customers see it: the console, hosted connect links, the templates’
        descriptions and the manual steps name it, in its colours.
      </p>
      <BrandPreview
        name={form.brandName || settings.branding.name}
        primary={form.primary}
        accent={form.accent}
        logoUrl={settings.branding.logoUrl}
      />
      {saved ? (
        <Alert tone="success" title={saved}>
          Customers see it on their next page.
        </Alert>
      ) : null}
      <form onSubmit={onSubmit(save)} noValidate>
        <Field
          label="Product name"
          description={
            why('brandName') ?? 'Templates and steps say “paste it into <name>” with it.'
          }
          error={errors.brandName}
        >
          <TextInput {...field('brandName')} readOnly={configured('brandName')} maxLength={60} />
        </Field>
        <div className="form-row">
          <Field
            label="Primary colour"
            description={why('colors')}
            error={errors['colors.primary'] ?? errors.colors}
          >
            <input
              type="color"
              className="input input-color"
              {...field('primary')}
              disabled={configured('colors')}
            />
          </Field>
          <Field label="Accent colour" error={errors['colors.accent']}>
            <input
              type="color"
              className="input input-color"
              {...field('accent')}
              disabled={configured('colors')}
            />
          </Field>
        </div>
        <Field
          label="Support link"
          optional
          description={
            why('supportUrl') ?? 'An https page or a mailto: address, shown in the footer.'
          }
          error={errors.supportUrl}
        >
          <TextInput
            {...field('supportUrl')}
            readOnly={configured('supportUrl')}
            placeholder="https://help.example.com/aws"
          />
        </Field>
        <Field
          label="Return URLs of hosted connect sessions"
          optional
          description={
            <>
              One origin or URL prefix per line (https; http only on localhost). A session may send
              the browser back only to these
              {settings.configuredReturnUrls.length > 0 ? (
                <>
                  {' '}
                  and to those set by configuration (ONRAMP_CONNECT_RETURN_URLS):{' '}
                  {settings.configuredReturnUrls.map((url) => (
                    <code key={url} className="wrap">
                      {url}{' '}
                    </code>
                  ))}
                </>
              ) : null}
              .
            </>
          }
          error={Object.entries(errors).find(([key]) => key.startsWith('returnUrls'))?.[1]}
        >
          <textarea className="input" rows={3} {...field('returnUrls')} />
        </Field>
        <OtherErrors
          errors={errors}
          fields={[
            'brandName',
            'colors',
            'colors.primary',
            'colors.accent',
            'supportUrl',
            'logo',
            ...Object.keys(errors).filter((key) => key.startsWith('returnUrls')),
          ]}
        />
        <Button type="submit" variant="primary" busy={busy}>
          Save
        </Button>
      </form>
      <h3 className="branding-logo-title">Logo</h3>
      <p className="muted">
        {why('logo') ??
          'A PNG, JPEG or WebP image of at most 256 KiB, shown in the header beside the name. It is saved as soon as it is uploaded; the values above wait for Save.'}
      </p>
      {configured('logo') ? null : (
        <div className="form-row">
          <label className="btn btn-secondary">
            Upload a logo
            <input
              type="file"
              accept={LOGO_TYPES.join(',')}
              className="visually-hidden"
              aria-label="Logo file"
              onChange={(event) => void upload(event)}
            />
          </label>
          {settings.branding.logoUrl ? (
            <Button variant="ghost" onClick={() => void removeLogo()} busy={busy}>
              Remove the logo
            </Button>
          ) : null}
        </div>
      )}
      {errors.logo ? (
        <p className="field-error" role="alert">
          {errors.logo.message}
          {errors.logo.hint ? <span className="field-hint"> {errors.logo.hint}</span> : null}
        </p>
      ) : null}
    </Card>
  );
}

/** The header as customers will see it, in the colours being chosen (set through the CSSOM). */
function BrandPreview(props: {
  name: string;
  primary: string;
  accent: string;
  logoUrl: string | null;
}) {
  const box = useRef<HTMLDivElement>(null);
  const { primary, accent } = props;
  useEffect(() => {
    const element = box.current;
    if (!element || !/^#[0-9a-f]{6}$/i.test(primary) || !/^#[0-9a-f]{6}$/i.test(accent)) return;
    element.style.setProperty('--primary', primary);
    element.style.setProperty('--primary-dark', mix(primary, '#000000', 0.2));
    element.style.setProperty('--accent', accent);
  }, [primary, accent]);
  return (
    <div className="brand-preview" ref={box} data-testid="brand-preview">
      <span className="brand">
        {props.logoUrl ? (
          <img className="brand-logo" src={props.logoUrl} alt="The current logo" />
        ) : (
          <span className="brand-mark" aria-hidden="true" />
        )}
        <strong>{props.name}</strong>
      </span>
      <span className="btn btn-primary" aria-hidden="true">
        Connect an AWS account
      </span>
    </div>
  );
}
