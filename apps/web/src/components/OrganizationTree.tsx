import type { OrganizationTree as Tree } from '@onramp/sdk';
import { type KeyboardEvent, useMemo, useRef, useState } from 'react';
import { describeCounts } from '../lib/organizations.ts';

type Unit = Tree['units'][number];

function healthText(health: Unit['health']): string {
  const parts = (['valid', 'degraded', 'invalid', 'unverified'] as const)
    .filter((key) => health[key] > 0)
    .map((key) => `${health[key]} ${key}`);
  return parts.join(' · ');
}

/**
 * The OU tree as WAI-ARIA's tree view: one item in the tab order, arrow keys move (Right opens or
 * goes to the first child, Left closes or goes to the parent), Home/End jump, Enter or Space picks
 * the unit whose members are listed. Each unit shows its subtree's counts by state and health.
 */
export function OrganizationTree({
  units,
  selected,
  onSelect,
}: {
  units: Unit[];
  /** The unit whose members are listed; '' for none (the whole organization). */
  selected: string;
  onSelect: (unitId: string) => void;
}) {
  const children = useMemo(() => {
    const map = new Map<string | null, Unit[]>();
    for (const unit of units) {
      const siblings = map.get(unit.parentId) ?? [];
      siblings.push(unit);
      map.set(unit.parentId, siblings);
    }
    for (const list of map.values()) list.sort((a, b) => a.name.localeCompare(b.name));
    return map;
  }, [units]);
  const byId = useMemo(() => new Map(units.map((u) => [u.id, u])), [units]);
  const roots = useMemo(
    () => units.filter((u) => u.parentId === null || !byId.has(u.parentId)),
    [units, byId],
  );
  // The roots start open: their OUs are what the tenant looks for first.
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set(roots.map((r) => r.id)));
  const [focused, setFocused] = useState<string | undefined>(selected || roots[0]?.id);
  const refs = useRef(new Map<string, HTMLElement | null>());

  const visible: Unit[] = [];
  const walk = (list: Unit[]) => {
    for (const unit of list) {
      visible.push(unit);
      if (expanded.has(unit.id)) walk(children.get(unit.id) ?? []);
    }
  };
  walk(roots);

  const focus = (id: string | undefined) => {
    if (!id) return;
    setFocused(id);
    refs.current.get(id)?.focus();
  };
  const toggle = (id: string, open: boolean) => {
    const next = new Set(expanded);
    if (open) next.add(id);
    else next.delete(id);
    setExpanded(next);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>) => {
    const current = visible.findIndex((u) => u.id === focused);
    const unit = visible[current];
    if (!unit) return;
    const hasChildren = (children.get(unit.id) ?? []).length > 0;
    switch (event.key) {
      case 'ArrowDown':
        focus(visible[current + 1]?.id);
        break;
      case 'ArrowUp':
        focus(visible[current - 1]?.id);
        break;
      case 'Home':
        focus(visible[0]?.id);
        break;
      case 'End':
        focus(visible[visible.length - 1]?.id);
        break;
      case 'ArrowRight':
        if (hasChildren && !expanded.has(unit.id)) toggle(unit.id, true);
        else if (hasChildren) focus(children.get(unit.id)?.[0]?.id);
        break;
      case 'ArrowLeft':
        if (hasChildren && expanded.has(unit.id)) toggle(unit.id, false);
        else if (unit.parentId && byId.has(unit.parentId)) focus(unit.parentId);
        break;
      case 'Enter':
      case ' ':
        onSelect(selected === unit.id ? '' : unit.id);
        break;
      default:
        return;
    }
    event.preventDefault();
  };

  const tabStop = visible.some((u) => u.id === focused) ? focused : visible[0]?.id;

  const render = (list: Unit[], level: number) =>
    list.map((unit) => {
      const kids = children.get(unit.id) ?? [];
      const open = expanded.has(unit.id);
      const health = healthText(unit.health);
      return (
        // biome-ignore lint/a11y/useKeyWithClickEvents: the tree answers the keys of its focused item (onKeyDown above)
        <li
          key={unit.id}
          role="treeitem"
          aria-level={level}
          aria-expanded={kids.length > 0 ? open : undefined}
          aria-selected={selected === unit.id}
          aria-label={`${unit.name}: ${describeCounts(unit.counts)}`}
          tabIndex={tabStop === unit.id ? 0 : -1}
          ref={(el) => {
            refs.current.set(unit.id, el);
          }}
          data-testid={`unit-${unit.id}`}
          className={`tree-item${selected === unit.id ? ' tree-item-selected' : ''}`}
          onFocus={(event) => {
            if (event.target === event.currentTarget) setFocused(unit.id);
          }}
          onClick={(event) => {
            event.stopPropagation();
            setFocused(unit.id);
            onSelect(selected === unit.id ? '' : unit.id);
          }}
        >
          <div className="tree-row">
            {kids.length > 0 ? (
              <span
                className="tree-toggle"
                aria-hidden="true"
                onClick={(event) => {
                  event.stopPropagation();
                  toggle(unit.id, !open);
                }}
              >
                {open ? '▾' : '▸'}
              </span>
            ) : (
              <span className="tree-toggle" aria-hidden="true" />
            )}
            <span className="tree-name">{unit.name}</span>
            <code className="tree-id muted small">{unit.id}</code>
          </div>
          <div className="tree-counts small" aria-hidden="true">
            <span data-testid={`unit-counts-${unit.id}`}>{describeCounts(unit.counts)}</span>
            {health ? <span className="muted"> — {health}</span> : null}
          </div>
          {kids.length > 0 && open ? (
            // biome-ignore lint/a11y/useSemanticElements: a tree's group is a list, as WAI-ARIA shows it
            <ul role="group" className="tree-group">
              {render(kids, level + 1)}
            </ul>
          ) : null}
        </li>
      );
    });

  return (
    // biome-ignore lint/a11y/noNoninteractiveElementToInteractiveRole: a WAI-ARIA tree is a list of items, as the pattern shows it
    <ul role="tree" aria-label="Organizational units" className="tree" onKeyDown={onKeyDown}>
      {render(roots, 1)}
    </ul>
  );
}
