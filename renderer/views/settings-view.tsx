import { useId } from 'react';
import { PageHeader } from '../components/controls';
import { useActions, useApp } from '../store/app-store';
import type { Theme } from '../store/ui-slice';

/** The app's own settings: appearance, and where it keeps things. */

const THEMES: Array<{ value: Theme; label: string }> = [
  { value: 'system', label: 'Follow the system' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

export function SettingsView() {
  const theme = useApp((s) => s.theme);
  const app = useApp((s) => s.app);
  const { setTheme, navigate } = useActions();
  const name = useId();
  return (
    <section aria-labelledby="settings-title">
      <PageHeader title="Settings" id="settings-title" />
      <div className="panel">
        <h2 id={`${name}-label`}>Appearance</h2>
        <div className="radio-row" role="radiogroup" aria-labelledby={`${name}-label`}>
          {THEMES.map((t) => (
            <label key={t.value}><input type="radio" name={name} value={t.value} checked={theme === t.value} onChange={() => setTheme(t.value)} /> {t.label}</label>
          ))}
        </div>
      </div>
      <div className="panel">
        <h2>Getting started</h2>
        <p className="muted">The short guide from a model server on this machine to a line you paste into your agent.</p>
        <button type="button" className="ghost" onClick={() => navigate({ name: 'welcome' })}>Open the guide</button>
      </div>
      {app && (
        <div className="panel">
          <h2>About</h2>
          <dl className="kv">
            <dt>Version</dt><dd>Tokios {app.version} ({app.host === 'electron' ? 'desktop app' : 'headless, in the browser'})</dd>
            <dt>Data folder</dt><dd><code>{app.dataDir}</code></dd>
            <dt>Config folder</dt><dd><code>{app.configDir}</code> {app.configDirError ? <span className="state-error">{app.configDirError}</span> : <span className="muted">tokios-*.json files here run as deployments</span>}</dd>
            <dt>Secrets</dt><dd>{app.secretStorage.kind === 'safe-storage' ? 'Encrypted with the system keychain' : 'An owner-only file in the data folder'}{app.secretStorage.warning ? ` · ${app.secretStorage.warning}` : ''}</dd>
          </dl>
        </div>
      )}
    </section>
  );
}
