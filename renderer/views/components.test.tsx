import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { deployment, FakeApi } from '../test-support/fake-api';
import { renderWithStore } from '../test-support/render-app';
import { DeploymentForm } from './deployment-form';
import { DeploymentsView } from './deployments-view';
import { TestPanel } from './test-panel';

afterEach(cleanup);

const gatewayInfo = { mode: 'embedded' as const, url: 'http://127.0.0.1:8787', status: 'running' as const, error: null, apiKey: 'sk-tokios-AbCd…wxyz', canMintTokens: false };

describe('deployment list', () => {
  it('shows each deployment with its state in words, and toggles it', async () => {
    const api = new FakeApi().answer('deployments.stop', () => deployment({ state: 'stopped' }));
    const { store } = renderWithStore(<DeploymentsView />, api);
    act(() => {
      store.setState({ deploymentsLoaded: true, connection: 'open' });
      store.getState().applyDeployment(deployment());
    });
    const row = screen.getByTestId('deployment-gemma-tunnel');
    expect(row.textContent).toContain('online');
    expect(row.textContent).toContain('2.5 ms');
    const toggle = screen.getByRole('switch', { name: 'Run gemma-tunnel' });
    expect(toggle.getAttribute('aria-checked')).toBe('true');
    fireEvent.click(toggle);
    await waitFor(() => expect(screen.getByRole('switch', { name: 'Run gemma-tunnel' }).getAttribute('aria-checked')).toBe('false'));
    expect(api.callsTo('deployments.stop')).toEqual([{ id: 'd1' }]);
  });

  it('offers Retry on a crash-looping deployment and says why', () => {
    const api = new FakeApi();
    const { store } = renderWithStore(<DeploymentsView />, api);
    act(() => {
      store.setState({ deploymentsLoaded: true, connection: 'open' });
      store.getState().applyDeployment(deployment({ state: 'crash-looping', health: { ...deployment().health, state: 'crash-looping', lastError: { code: 'WORKER_FAILED', message: 'the connector worker exited 5 times within 60 s', at: 1 } } }));
    });
    expect(screen.getByText('keeps crashing')).toBeTruthy();
    expect(screen.getByText(/exited 5 times/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Retry gemma-tunnel' })).toBeTruthy();
  });

  it('teaches how to start a model server when there is nothing yet', () => {
    const { store } = renderWithStore(<DeploymentsView />, new FakeApi());
    act(() => store.setState({ deploymentsLoaded: true }));
    expect(screen.getByText('No deployments yet')).toBeTruthy();
    expect(screen.getByText('ollama serve')).toBeTruthy();
  });
});

describe('deployment form', () => {
  function openForm(api: FakeApi): ReturnType<typeof renderWithStore> {
    const result = renderWithStore(<DeploymentForm />, api);
    act(() => result.store.setState({ gateway: gatewayInfo }));
    return result;
  }

  it('validates the name and token as the gateway will, naming the problem', async () => {
    const api = new FakeApi().answer('deployments.checkName', () => ({ problem: null, swapsWith: null }));
    openForm(api);
    const name = screen.getByLabelText('Name');
    fireEvent.change(name, { target: { value: 'bad name!' } });
    fireEvent.blur(name);
    expect(screen.getByText(/must start with a letter or digit/)).toBeTruthy();
    const token = screen.getByLabelText('Tunnel token');
    fireEvent.change(token, { target: { value: 'sk-tokios-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg' } });
    fireEvent.blur(token);
    expect(screen.getByText(/looks like an API key/)).toBeTruthy();
    expect(api.callsTo('deployments.create')).toEqual([]);
  });

  it('explains that reusing a name swaps the backend, and only swaps once confirmed', async () => {
    const api = new FakeApi()
      .answer('deployments.checkName', () => ({ problem: null, swapsWith: { id: 'old', upstream: 'http://127.0.0.1:11434' } }))
      .answer('deployments.create', (input: { name: string }) => deployment({ id: 'new', name: input.name, upstream: 'http://127.0.0.1:8080' }));
    openForm(api);
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'gemma-tunnel' } });
    fireEvent.change(screen.getByLabelText('Model server URL'), { target: { value: 'http://127.0.0.1:8080' } });
    fireEvent.change(screen.getByLabelText('Tunnel token'), { target: { value: 'tt-0123456789abcdefghijABCDEFGHIJ0123456789abc' } });
    await screen.findByText(/Saving swaps its backend/);
    const save = screen.getByRole('button', { name: 'Swap backend' }) as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    fireEvent.click(screen.getByLabelText(/Swap the backend of 'gemma-tunnel'/));
    expect(save.disabled).toBe(false);
    fireEvent.click(save);
    await waitFor(() => expect(api.callsTo('deployments.create')).toHaveLength(1));
    expect(api.callsTo('deployments.create')[0]).toMatchObject({ name: 'gemma-tunnel', upstream: 'http://127.0.0.1:8080', replace: true, token: 'tt-0123456789abcdefghijABCDEFGHIJ0123456789abc' });
  });

  it('shows what the core says when saving fails, in plain words', async () => {
    const api = new FakeApi()
      .answer('deployments.checkName', () => ({ problem: null, swapsWith: null }))
      .answer('deployments.create', () => {
        throw Object.assign(new Error('gateway http://127.0.0.1:8787 refused POST /v1/deployments: Tunnel token rejected: this gateway did not issue it (or it was revoked).'), { code: 'UNAUTHORIZED' });
      });
    openForm(api);
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'gemma' } });
    fireEvent.change(screen.getByLabelText('Tunnel token'), { target: { value: 'tt-0123456789abcdefghijABCDEFGHIJ0123456789abc' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    // Next to the token field, in words rather than the gateway's, with focus on the field.
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/did not issue this tunnel token/);
    expect(alert.textContent).not.toMatch(/POST \/v1\/deployments/);
    expect(alert.id).toBe(screen.getByLabelText('Tunnel token').getAttribute('aria-describedby'));
    expect(document.activeElement).toBe(screen.getByLabelText('Tunnel token'));
  });

  it('says how a typed name and URL will be saved, and warns before a rename', async () => {
    const api = new FakeApi()
      .answer('deployments.checkName', () => ({ problem: null, swapsWith: null }))
      .answer('detect.probe', () => ({ url: 'http://localhost:9', reachable: false, kind: 'unknown' as const, models: [], problem: 'nothing answers' }))
      .answer('deployments.update', (args: { changes: { name: string; upstream: string } }) => deployment({ name: args.changes.name, upstream: args.changes.upstream }));
    renderWithStore(<DeploymentForm editId="d1" />, api, (store) => {
      store.setState({ gateway: gatewayInfo });
      store.getState().applyDeployment(deployment());
    });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'my model' } });
    expect(screen.getByText("Saved as 'my-model': names cannot contain spaces.")).toBeTruthy();
    expect((await screen.findByRole('note')).textContent).toMatch(/Clients that use 'gemma-tunnel' will get "model not found"/);
    fireEvent.change(screen.getByLabelText('Model server URL'), { target: { value: 'localhost:9' } });
    expect(await screen.findByText(/Saved as http:\/\/localhost:9\. Nothing answers at http:\/\/localhost:9 yet\. You can save anyway/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Rename' }));
    await waitFor(() => expect(api.callsTo('deployments.update')).toHaveLength(1));
    expect(api.callsTo('deployments.update')[0]).toMatchObject({ id: 'd1', changes: { name: 'my-model', upstream: 'http://localhost:9' } });
  });
});

describe('test panel', () => {
  it('streams the reply with the time to first token', async () => {
    const api = new FakeApi().answer('test.chat', () => ({ requestId: 'r1' }));
    renderWithStore(<TestPanel deploymentId="d1" deployment="gemma-tunnel" />, api);
    fireEvent.click(screen.getByRole('button', { name: 'Send test request' }));
    await waitFor(() => expect(api.callsTo('test.chat')).toEqual([{ deployment: 'gemma-tunnel', prompt: 'Say hello in one short sentence.' }]));
    act(() => {
      api.emit('test.chat', { requestId: 'r1', type: 'first-token', ttftMs: 42 });
      api.emit('test.chat', { requestId: 'r1', type: 'chunk', text: 'Hello' });
    });
    expect(screen.getByLabelText('Reply').textContent).toBe('Hello');
    expect(screen.getByText(/first token after 42 ms/)).toBeTruthy();
    act(() => api.emit('test.chat', { requestId: 'r1', type: 'done', durationMs: 400, ttftMs: 42, completionTokens: 5 }));
    expect(screen.getByText(/Done in 400 ms/)).toBeTruthy();
  });
});
