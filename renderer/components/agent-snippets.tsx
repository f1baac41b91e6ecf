import { useId, useState, type KeyboardEvent } from 'react';
import { useActions } from '../store/app-store';
import { CopyButton } from './controls';

/**
 * "Paste this into your agent": the endpoint and key in the shape each kind of client
 * wants. The page shows the masked key; Copy fetches the real one on demand and keeps it
 * nowhere (the clipboard is its only destination).
 */

type Build = (key: string) => string;

interface Snippet {
  id: string;
  label: string;
  hint: string;
  build: Build;
}

function snippets(base: string, model: string): Snippet[] {
  return [
    {
      id: 'env', label: 'OpenAI SDK', hint: 'Environment variables the official OpenAI SDKs (and most agents built on them) read.',
      build: (key) => `export OPENAI_BASE_URL=${base}\nexport OPENAI_API_KEY=${key}\n# then use model="${model}"`,
    },
    {
      id: 'curl', label: 'curl', hint: 'One request from a terminal.',
      build: (key) => `curl ${base}/chat/completions \\\n  -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\\n  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello"}]}'`,
    },
    {
      id: 'python', label: 'Python', hint: 'The openai package, unchanged.',
      build: (key) => `from openai import OpenAI\n\nclient = OpenAI(base_url="${base}", api_key="${key}")\nreply = client.chat.completions.create(\n    model="${model}",\n    messages=[{"role": "user", "content": "Hello"}],\n)\nprint(reply.choices[0].message.content)`,
    },
    {
      id: 'continue', label: 'Continue', hint: 'In ~/.continue/config.yaml, under models:',
      build: (key) => `models:\n  - name: ${model} (Tokios)\n    provider: openai\n    model: ${model}\n    apiBase: ${base}\n    apiKey: ${key}`,
    },
    {
      id: 'cline', label: 'Cline', hint: 'Cline settings → API Provider "OpenAI Compatible", then these fields:',
      build: (key) => `Base URL:  ${base}\nAPI Key:   ${key}\nModel ID:  ${model}`,
    },
  ];
}

export function AgentSnippets({ base, model, maskedKey, hasKey }: { base: string; model: string; maskedKey: string; hasKey: boolean }) {
  const list = snippets(base, model);
  const [current, setCurrent] = useState(list[0]!.id);
  const { withApiKey } = useActions();
  const id = useId();
  const snippet = list.find((s) => s.id === current) ?? list[0]!;
  const withKey = (build: Build) => async (): Promise<string> => {
    let text = '';
    await withApiKey(async (key) => {
      text = build(key);
    });
    return text;
  };
  // Arrow keys move between tabs, as in any tab list.
  const onKey = (event: KeyboardEvent<HTMLDivElement>): void => {
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
    const at = list.findIndex((s) => s.id === current);
    const next = list[(at + (event.key === 'ArrowRight' ? 1 : list.length - 1)) % list.length]!;
    setCurrent(next.id);
    document.getElementById(`${id}-tab-${next.id}`)?.focus();
  };
  return (
    <div>
      <div className="tabs" role="tablist" aria-label="Client" onKeyDown={onKey}>
        {list.map((s) => (
          <button key={s.id} id={`${id}-tab-${s.id}`} type="button" role="tab" aria-selected={s.id === current} aria-controls={`${id}-panel`} tabIndex={s.id === current ? 0 : -1} onClick={() => setCurrent(s.id)}>
            {s.label}
          </button>
        ))}
      </div>
      <div id={`${id}-panel`} role="tabpanel" aria-labelledby={`${id}-tab-${snippet.id}`}>
        <p className="hint">{snippet.hint}</p>
        <div className="snippet">
          <pre aria-label={`${snippet.label} snippet`}>{snippet.build(maskedKey)}</pre>
          {hasKey && <CopyButton className="ghost small copy" label={`Copy ${snippet.label} snippet`} text={withKey(snippet.build)} />}
        </div>
      </div>
    </div>
  );
}
