import { useCallback, useEffect, useRef, useState } from 'react';
import { describeError } from './forms.ts';

/** One page of a list as the hook wants it: the API's array, and its `next` cursor. */
export interface PageOf<T> {
  items: T[];
  next: string | null;
}

/**
 * A list the API answers a page at a time: the first page when shown (again whenever `listPage`
 * changes: pass a memoised one), the following on `loadMore`. `reload`, after a change, reads again
 * as many items as are shown, so a record on a later page stays in view once changed.
 */
export function usePages<T>(listPage: (cursor: string | undefined) => Promise<PageOf<T>>) {
  const [items, setItems] = useState<T[] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  const shown = useRef(0);
  // Answers for a list no longer shown (another tenant's, after a switch) are dropped.
  const generation = useRef(0);

  const read = useCallback(
    async (atLeast: number) => {
      const mine = ++generation.current;
      try {
        const collected: T[] = [];
        let cursor: string | undefined;
        let following: string | null;
        do {
          const page = await listPage(cursor);
          collected.push(...page.items);
          following = page.next;
          cursor = following ?? undefined;
        } while (following !== null && collected.length < atLeast);
        if (mine !== generation.current) return;
        shown.current = collected.length;
        setItems(collected);
        setNext(following);
        setError(undefined);
      } catch (failure) {
        if (mine === generation.current) setError(describeError(failure));
      }
    },
    [listPage],
  );

  useEffect(() => {
    void read(0);
  }, [read]);

  const reload = useCallback(() => read(shown.current), [read]);

  const loadMore = useCallback(async () => {
    if (!next) return;
    const mine = generation.current;
    try {
      const page = await listPage(next);
      if (mine !== generation.current) return;
      shown.current += page.items.length;
      setItems((current) => [...(current ?? []), ...page.items]);
      setNext(page.next);
    } catch (failure) {
      setError(describeError(failure));
    }
  }, [listPage, next]);

  return { items, setItems, next, error, setError, reload, loadMore };
}
