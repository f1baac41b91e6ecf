import { useEffect, useState } from 'react';

/**
 * Whether the window is narrow (the sidebar shows icons only). Tables leave out their
 * secondary columns then, rather than hiding them with CSS, which fixed-layout tables
 * handle badly (the hidden columns keep their width).
 */
export const NARROW_QUERY = '(max-width: 960px)';

export function useNarrow(): boolean {
  const query = typeof globalThis.matchMedia === 'function' ? globalThis.matchMedia(NARROW_QUERY) : null;
  const [narrow, setNarrow] = useState(query?.matches ?? false);
  useEffect(() => {
    if (!query) return;
    const update = (): void => setNarrow(query.matches);
    query.addEventListener('change', update);
    return () => query.removeEventListener('change', update);
  }, [query]);
  return narrow;
}
