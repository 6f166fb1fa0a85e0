// @vitest-environment happy-dom
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { CATALOG, fakeClient, OFFERS, previewOf, renderInConsole } from '../test-support.tsx';
import { type PermissionSelection, PermissionsPicker } from './PermissionsPicker.tsx';

function Picker({
  partition: initial = 'aws',
  onValue,
}: {
  partition?: string;
  onValue?: (value: PermissionSelection) => void;
}) {
  const [value, setValue] = useState<PermissionSelection>({ bundles: 'default', regions: [] });
  const [partition, setPartition] = useState(initial);
  onValue?.(value);
  return (
    <>
      <button type="button" onClick={() => setPartition('aws-cn')}>
        Switch to China
      </button>
      <PermissionsPicker
        catalog={CATALOG}
        partition={partition}
        regions={OFFERS.find((o) => o.partition === partition)?.regions ?? []}
        value={value}
        onChange={setValue}
      />
    </>
  );
}

describe('PermissionsPicker', () => {
  it('previews the exact policy live: choosing a bundle adds its actions to the JSON', async () => {
    const previewPolicy = vi.fn(async (input: { partition: string; bundles?: unknown }) =>
      previewOf(input),
    );
    renderInConsole(<Picker />, fakeClient({ previewPolicy }));
    fireEvent.click(screen.getByRole('button', { name: 'View JSON' }));
    const json = () => screen.getByTestId('policy-json').textContent ?? '';
    await waitFor(() => expect(json()).toContain('ec2:RunInstances'));
    expect(json()).not.toContain('autoscaling:CreateAutoScalingGroup');
    expect(previewPolicy).toHaveBeenLastCalledWith(
      expect.objectContaining({ partition: 'aws', bundles: 'default', principal: 'role' }),
    );

    fireEvent.click(screen.getByLabelText(/Customise/));
    fireEvent.click(screen.getByRole('checkbox', { name: /Auto Scaling groups/ }));
    await waitFor(() => expect(json()).toContain('autoscaling:CreateAutoScalingGroup'));
    expect(previewPolicy).toHaveBeenLastCalledWith(
      expect.objectContaining({ bundles: ['nodes-ec2', 'nodes-autoscaling'] }),
    );

    fireEvent.click(screen.getByRole('checkbox', { name: /Manage EC2 nodes/ }));
    await waitFor(() => expect(json()).not.toContain('ec2:RunInstances'));
  });

  it('lists each bundle’s actions when expanded', () => {
    renderInConsole(
      <Picker />,
      fakeClient({ previewPolicy: async () => previewOf({ partition: 'aws' }) }),
    );
    const bundle = document.querySelector('[data-bundle="nodes-ec2"]') as HTMLElement;
    expect(within(bundle).getByText('2 actions')).toBeTruthy();
    expect(within(bundle).getByText('ec2:Describe*')).toBeTruthy();
  });

  it('customised in aws, then shown for China: resets to China’s defaults and says so', async () => {
    let latest: PermissionSelection | undefined;
    const client = fakeClient({
      previewPolicy: async (input: { partition: string; bundles?: unknown }) => previewOf(input),
    });
    renderInConsole(<Picker onValue={(v) => (latest = v)} />, client);
    fireEvent.click(screen.getByLabelText(/Customise/));
    fireEvent.click(screen.getByRole('checkbox', { name: /Auto Scaling groups/ }));
    fireEvent.click(screen.getByRole('checkbox', { name: /Europe \(Ireland\)/ }));
    expect(latest).toEqual({ bundles: ['nodes-ec2', 'nodes-autoscaling'], regions: ['eu-west-1'] });
    expect(screen.queryByText(/reset/)).toBeNull();

    fireEvent.click(screen.getByRole('button', { name: 'Switch to China' }));
    await waitFor(() => expect(latest).toEqual({ bundles: 'default', regions: [] }));
    expect(
      screen.getByText(
        /Permissions cannot be customised in AWS China, so your selection was reset to its default permissions\./,
      ),
    ).toBeTruthy();
    expect(screen.getByText(/1 region of another partition was removed/)).toBeTruthy();
  });

  it('keeps a selection that already fits, and says nothing', () => {
    const onChange = vi.fn();
    renderInConsole(
      <PermissionsPicker
        catalog={CATALOG}
        partition="aws-cn"
        regions={[]}
        value={{ bundles: ['nodes-ec2'], regions: [] }}
        onChange={onChange}
      />,
      fakeClient({ previewPolicy: async () => previewOf({ partition: 'aws-cn' }) }),
    );
    expect(onChange).not.toHaveBeenCalled();
    expect(screen.queryByText(/reset/)).toBeNull();
  });

  it('says so where permissions cannot be customised, and shows the defaults only', () => {
    renderInConsole(
      <Picker partition="aws-cn" />,
      fakeClient({ previewPolicy: async () => previewOf({ partition: 'aws-cn' }) }),
    );
    expect(screen.getByText(/Permissions cannot be customised in AWS China/)).toBeTruthy();
    expect(screen.queryByLabelText(/Customise/)).toBeNull();
    expect(screen.queryByText('Auto Scaling groups')).toBeNull();
    expect(screen.getByText('Manage EC2 nodes')).toBeTruthy();
  });
});
