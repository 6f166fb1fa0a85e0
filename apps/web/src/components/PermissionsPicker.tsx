import type { Catalog, PolicyPreview } from '@onramp/sdk';
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { useBranding } from '../lib/branding.tsx';
import { PARTITION_LABELS } from '../lib/format.ts';
import { describeError, type FieldErrors } from '../lib/forms.ts';
import { useClient } from '../lib/session.tsx';
import { Alert, Button, CopyButton } from './ui.tsx';

export interface PermissionSelection {
  /** 'default', or the chosen bundle ids. */
  bundles: 'default' | string[];
  regions: string[];
}

/** The bundle ids a selection stands for in a partition. */
export function resolveBundles(
  catalog: Catalog,
  partition: string,
  bundles: PermissionSelection['bundles'],
): string[] {
  if (bundles !== 'default') return bundles;
  return catalog.partitions.find((p) => p.partition === partition)?.defaultBundles ?? [];
}

/**
 * A selection made in one partition, fitted to another: where the partition offers only its defaults,
 * a customised selection becomes those defaults; elsewhere bundles it does not offer, and regions that
 * are not its own, are dropped. Says what changed, so the wizard never keeps a selection the API would
 * refuse with no control to fix it.
 */
export function fitSelection(
  catalog: Catalog,
  partition: string,
  regionIds: readonly string[],
  value: PermissionSelection,
): { value: PermissionSelection; notice?: string } {
  const offer = catalog.partitions.find((p) => p.partition === partition);
  const name = PARTITION_LABELS[partition] ?? partition;
  const regions = value.regions.filter((r) => regionIds.includes(r));
  const droppedRegions = value.regions.length - regions.length;
  const notes: string[] = [];
  let bundles = value.bundles;
  if (bundles !== 'default' && offer) {
    if (!offer.customizable) {
      const same = [...bundles].sort().join(',') === [...offer.defaultBundles].sort().join(',');
      if (!same) {
        bundles = 'default';
        notes.push(
          `Permissions cannot be customised in ${name}, so your selection was reset to its default permissions.`,
        );
      }
    } else {
      const kept = bundles.filter((b) => offer.availableBundles.includes(b));
      if (kept.length !== bundles.length) {
        const names = bundles
          .filter((b) => !kept.includes(b))
          .map(
            (b) => catalog.products.flatMap((p) => p.bundles).find((x) => x.id === b)?.name ?? b,
          );
        notes.push(
          `Not available in ${name}, so removed from your selection: ${names.join(', ')}.`,
        );
        bundles = kept;
      }
    }
  }
  if (droppedRegions > 0) {
    notes.push(
      `${droppedRegions} region${droppedRegions === 1 ? '' : 's'} of another partition ${droppedRegions === 1 ? 'was' : 'were'} removed from the region limit.`,
    );
  }
  if (notes.length === 0) return { value };
  return { value: { bundles, regions }, notice: notes.join(' ') };
}

/**
 * Which permissions the role (or user) gets: the partition's defaults, or bundles chosen product by
 * product, each expandable to its actions; optionally limited to regions; with the exact IAM policy
 * the selection makes, previewed live by the API (POST /v1/policies/preview).
 */
export function PermissionsPicker({
  catalog,
  partition,
  regions,
  value,
  onChange,
  principal = 'role',
  errors = {},
  readOnly = false,
}: {
  catalog: Catalog;
  partition: string;
  /** The partition's regions, for the optional region limit. */
  regions: { id: string; description: string }[];
  value: PermissionSelection;
  onChange: (value: PermissionSelection) => void;
  principal?: 'role' | 'user';
  /** Field errors keyed `permissions.<bundleId>` (from validation). */
  errors?: FieldErrors;
  readOnly?: boolean;
}) {
  const id = useId();
  const { name: brandName } = useBranding();
  const [notice, setNotice] = useState<string | undefined>();
  const regionIds = regions.map((r) => r.id).join(',');
  const fitted = useRef<string | undefined>(undefined);
  // A selection made in another partition (the wizard's Back, a changed partition) is fitted to this
  // one as soon as it is shown here, with a sentence saying what changed.
  useEffect(() => {
    if (readOnly) return;
    const result = fitSelection(catalog, partition, regionIds ? regionIds.split(',') : [], value);
    if (result.notice) {
      setNotice(result.notice);
      onChange(result.value);
    } else if (fitted.current !== undefined && fitted.current !== partition) {
      setNotice(undefined);
    }
    fitted.current = partition;
  }, [catalog, partition, regionIds, value, onChange, readOnly]);
  const offer = catalog.partitions.find((p) => p.partition === partition);
  const customizable = offer?.customizable ?? false;
  const chosen = useMemo(
    () => new Set(resolveBundles(catalog, partition, value.bundles)),
    [catalog, partition, value.bundles],
  );
  const partitionName = PARTITION_LABELS[partition] ?? partition;

  const setMode = (mode: 'default' | 'custom') =>
    onChange({ ...value, bundles: mode === 'default' ? 'default' : [...chosen] });
  const toggle = (bundleId: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(bundleId);
    else next.delete(bundleId);
    const ordered = catalog.products
      .flatMap((p) => p.bundles.map((b) => b.id))
      .filter((b) => next.has(b));
    onChange({ ...value, bundles: ordered });
  };
  const toggleRegion = (region: string, on: boolean) => {
    const next = on ? [...value.regions, region] : value.regions.filter((r) => r !== region);
    onChange({ ...value, regions: regions.map((r) => r.id).filter((r) => next.includes(r)) });
  };

  const custom = value.bundles !== 'default';
  // What this kind of principal gets: some statements are for roles or for users only.
  const actionsOf = (bundle: Catalog['products'][number]['bundles'][number]) =>
    bundle.actionsFor[principal];
  return (
    <div className="permissions">
      {notice ? (
        <Alert tone="warning" title="Permissions reset">
          {notice}
        </Alert>
      ) : null}
      {!customizable ? (
        <Alert tone="info" title={`Default permissions in ${partitionName}`}>
          Permissions cannot be customised in {partitionName}; accounts there get the default
          permissions listed below.
        </Alert>
      ) : (
        <fieldset className="choice-group" disabled={readOnly}>
          <legend className="field-label">Permissions</legend>
          <label className="choice">
            <input
              type="radio"
              name={`${id}-mode`}
              checked={!custom}
              onChange={() => setMode('default')}
            />
            <span>
              <strong>Default permissions</strong> <span className="tag">Recommended</span>
              <span className="choice-description">
                What {brandName} needs for its standard features.
              </span>
            </span>
          </label>
          <label className="choice">
            <input
              type="radio"
              name={`${id}-mode`}
              checked={custom}
              onChange={() => setMode('custom')}
            />
            <span>
              <strong>Customise</strong>
              <span className="choice-description">
                Pick the features you use, product by product.
              </span>
            </span>
          </label>
        </fieldset>
      )}

      <div className="products">
        {catalog.products.map((product) => {
          const bundles = product.bundles.filter(
            (b) => customizable || offer?.defaultBundles.includes(b.id),
          );
          if (bundles.length === 0) return null;
          return (
            <fieldset key={product.id} className="product" disabled={readOnly || !custom}>
              <legend className="product-name">{product.name}</legend>
              <p className="product-description">{product.description}</p>
              {bundles.map((bundle) => {
                const available = bundle.partitions.includes(partition as never);
                const error = errors[`permissions.${bundle.id}`];
                return (
                  <div
                    key={bundle.id}
                    className={`bundle${error ? ' bundle-invalid' : ''}`}
                    data-bundle={bundle.id}
                  >
                    <label className="bundle-label">
                      <input
                        type="checkbox"
                        checked={chosen.has(bundle.id)}
                        disabled={!available}
                        aria-invalid={error ? true : undefined}
                        onChange={(event) => toggle(bundle.id, event.target.checked)}
                      />
                      <span>
                        <strong>{bundle.name}</strong>
                        {bundle.isDefault ? <span className="tag">Default</span> : null}
                        <span className="choice-description">
                          {bundle.description}
                          {!available ? ` Not available in ${partitionName}.` : ''}
                        </span>
                      </span>
                    </label>
                    {error ? (
                      <p className="field-error" role="alert">
                        {error.message}
                        {error.hint ? <span className="field-hint"> {error.hint}</span> : null}
                      </p>
                    ) : null}
                    <details className="bundle-actions">
                      <summary>
                        {actionsOf(bundle).length} action
                        {actionsOf(bundle).length === 1 ? '' : 's'}
                      </summary>
                      <ul>
                        {actionsOf(bundle).map((action) => (
                          <li key={action}>
                            <code>{action}</code>
                          </li>
                        ))}
                      </ul>
                    </details>
                  </div>
                );
              })}
            </fieldset>
          );
        })}
      </div>

      {regions.length > 0 ? (
        <details className="regions" open={value.regions.length > 0}>
          <summary>
            Limit to regions{' '}
            <span className="optional">
              (optional;{' '}
              {value.regions.length === 0 ? 'all regions' : `${value.regions.length} chosen`})
            </span>
          </summary>
          <p className="field-description">
            Regional services are allowed only in the regions you choose; global services such as
            IAM keep working.
          </p>
          <fieldset className="region-grid" disabled={readOnly}>
            <legend className="visually-hidden">Regions</legend>
            {regions.map((region) => (
              <label key={region.id} className="region">
                <input
                  type="checkbox"
                  checked={value.regions.includes(region.id)}
                  onChange={(event) => toggleRegion(region.id, event.target.checked)}
                />
                <span>
                  <code>{region.id}</code> <span className="muted">{region.description}</span>
                </span>
              </label>
            ))}
          </fieldset>
        </details>
      ) : null}

      <PolicyPreviewPanel
        partition={partition}
        bundles={value.bundles}
        regions={value.regions}
        principal={principal}
      />
    </div>
  );
}

/** The exact IAM policy documents of a selection, refreshed as it changes. */
export function PolicyPreviewPanel({
  partition,
  bundles,
  regions,
  principal,
  initiallyOpen = false,
  title = 'View JSON',
}: {
  partition: string;
  bundles: PermissionSelection['bundles'];
  regions: string[];
  principal: 'role' | 'user';
  initiallyOpen?: boolean;
  title?: string;
}) {
  const client = useClient();
  const panelId = useId();
  const [open, setOpen] = useState(initiallyOpen);
  const [preview, setPreview] = useState<PolicyPreview | undefined>();
  const [error, setError] = useState<string | undefined>();
  const key = JSON.stringify({ partition, bundles, regions, principal });

  useEffect(() => {
    const request = JSON.parse(key) as {
      partition: 'aws';
      bundles: PermissionSelection['bundles'];
      regions: string[];
      principal: 'role' | 'user';
    };
    let current = true;
    const timer = setTimeout(() => {
      client.previewPolicy(request).then(
        (result) => {
          if (!current) return;
          setPreview(result);
          setError(undefined);
        },
        (failure: unknown) => {
          if (current) setError(describeError(failure));
        },
      );
    }, 150);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [client, key]);

  const actions = preview?.policies.reduce(
    (sum, p) => sum + p.document.Statement.reduce((n, s) => n + s.Action.length, 0),
    0,
  );
  return (
    <div className="policy-preview">
      <div className="policy-preview-bar">
        <Button
          variant="secondary"
          aria-expanded={open}
          aria-controls={panelId}
          onClick={() => setOpen(!open)}
        >
          {open ? 'Hide JSON' : title}
        </Button>
        <span className="muted" aria-live="polite">
          {preview
            ? `${preview.policies.length} polic${preview.policies.length === 1 ? 'y' : 'ies'}, ${actions} actions`
            : ''}
        </span>
      </div>
      {error ? <Alert tone="danger">{error}</Alert> : null}
      <div id={panelId} hidden={!open}>
        {preview?.policies.map((policy) => {
          const json = JSON.stringify(policy.document, null, 2);
          return (
            <div key={policy.name} className="policy-document">
              <div className="policy-document-header">
                <code>{policy.name}</code>
                <span className="muted">{policy.size.toLocaleString('en')} / 6,144 characters</span>
                <CopyButton value={json} label="Copy JSON" />
              </div>
              <pre className="json" data-testid="policy-json">
                {json}
              </pre>
            </div>
          );
        })}
      </div>
    </div>
  );
}
