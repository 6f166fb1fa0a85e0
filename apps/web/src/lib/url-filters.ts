import { useCallback, useMemo } from 'react';
import { navigate, useLocation } from './router.tsx';

/**
 * A page's filters kept in its URL's query, so a reload, the browser's Back and a shared link show
 * the same list. Each change replaces the history entry (typing a search adds no entry per key); a
 * page opened from the list pushes its own, so Back returns to the filtered list.
 */
export function useUrlFilters<K extends string>(
  keys: readonly K[],
): [Record<K, string>, (next: Partial<Record<K, string>>) => void] {
  const { path, search } = useLocation();
  const text = search.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: `text` stands for the query
  const filters = useMemo(
    () => Object.fromEntries(keys.map((key) => [key, search.get(key) ?? ''])) as Record<K, string>,
    [text, keys.join()],
  );
  const setFilters = useCallback(
    (next: Partial<Record<K, string>>) => {
      const query = new URLSearchParams(window.location.search);
      for (const [key, value] of Object.entries(next) as [K, string | undefined][]) {
        if (value) query.set(key, value);
        else query.delete(key);
      }
      const rest = query.toString();
      navigate(rest ? `${path}?${rest}` : path, { replace: true, keepScroll: true });
    },
    [path],
  );
  return [filters, setFilters];
}
