import type { ReactElement } from 'react';

/** The app's mark (assets/icon.png's tunnel arches) and the sidebar's icons, as inline SVG. */

export function Mark({ title }: { title?: string }) {
  return (
    <svg viewBox="0 0 32 32" role={title ? 'img' : undefined} aria-label={title} aria-hidden={title ? undefined : true}>
      <rect width="32" height="32" rx="7" fill="#111318" />
      <g fill="none" stroke="#16b8a6" strokeWidth="2.4">
        <path d="M5 21a11 11 0 0 1 22 0" />
        <path d="M8.8 21a7.2 7.2 0 0 1 14.4 0" />
        <path d="M12.6 21a3.4 3.4 0 0 1 6.8 0" />
      </g>
      <rect x="4" y="22.5" width="24" height="2" fill="#8f9bb0" />
    </svg>
  );
}

const stroke = { fill: 'none', stroke: 'currentColor', strokeWidth: 1.7, strokeLinecap: 'round', strokeLinejoin: 'round' } as const;

export const ICONS: Record<string, ReactElement> = {
  deployments: (
    <svg viewBox="0 0 24 24" aria-hidden="true" {...stroke}><path d="M4 18a8 8 0 0 1 16 0" /><path d="M8 18a4 4 0 0 1 8 0" /><path d="M3 21h18" /></svg>
  ),
  detected: (
    <svg viewBox="0 0 24 24" aria-hidden="true" {...stroke}><rect x="3" y="4" width="18" height="6" rx="1.5" /><rect x="3" y="14" width="18" height="6" rx="1.5" /><path d="M7 7h.01M7 17h.01" /></svg>
  ),
  requests: (
    <svg viewBox="0 0 24 24" aria-hidden="true" {...stroke}><path d="M4 7h12M13 4l3 3-3 3" /><path d="M20 17H8M11 14l-3 3 3 3" /></svg>
  ),
  logs: (
    <svg viewBox="0 0 24 24" aria-hidden="true" {...stroke}><rect x="4" y="3" width="16" height="18" rx="2" /><path d="M8 8h8M8 12h8M8 16h5" /></svg>
  ),
  gateway: (
    <svg viewBox="0 0 24 24" aria-hidden="true" {...stroke}><circle cx="12" cy="12" r="8.5" /><path d="M3.5 12h17M12 3.5c2.5 2.6 3.5 5.4 3.5 8.5s-1 5.9-3.5 8.5c-2.5-2.6-3.5-5.4-3.5-8.5s1-5.9 3.5-8.5z" /></svg>
  ),
  settings: (
    <svg viewBox="0 0 24 24" aria-hidden="true" {...stroke}><circle cx="12" cy="12" r="3" /><path d="M12 2.8v2.4M12 18.8v2.4M2.8 12h2.4M18.8 12h2.4M5.5 5.5l1.7 1.7M16.8 16.8l1.7 1.7M5.5 18.5l1.7-1.7M16.8 7.2l1.7-1.7" /></svg>
  ),
  welcome: (
    <svg viewBox="0 0 24 24" aria-hidden="true" {...stroke}><path d="M5 12l4 4 10-10" /></svg>
  ),
};
