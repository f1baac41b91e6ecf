import type { CreateKeyInput, CreateTokenInput, CreatedCredential, CredentialView, DeviceGrantView, HostedDeployment, RequestLogEntry, SessionView, UsageReport } from '../../shared/hosted-api';
import { CSRF_HEADER, DASHBOARD_API } from '../../shared/hosted-api';

/**
 * The dashboard's calls to its gateway (same origin): the session cookie goes along by
 * itself, the CSRF token in a header. A 401 means the session ended; callers hear it as
 * `SessionEnded` so the page can ask to sign in again.
 */

export class SessionEnded extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SessionEnded';
  }
}

export class DashboardClient {
  csrfToken: string | null = null;

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.csrfToken) headers[CSRF_HEADER] = this.csrfToken;
    const response = await fetch(path, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    if (response.status === 204) return undefined as T;
    let json: unknown = null;
    try {
      json = await response.json();
    } catch {
      // reported below
    }
    if (!response.ok) {
      const message = (json as { error?: { message?: string } } | null)?.error?.message ?? `The gateway answered ${response.status}.`;
      if (response.status === 401 && !path.endsWith('/sign-in') && !path.endsWith('/sign-up')) throw new SessionEnded(message);
      throw new Error(message);
    }
    return json as T;
  }

  config = (): Promise<{ signup: boolean }> => this.call('GET', `${DASHBOARD_API}/config`);
  session = (): Promise<SessionView> => this.call('GET', `${DASHBOARD_API}/session`);
  signIn = (email: string, password: string, signUp: boolean): Promise<SessionView> => this.call('POST', `${DASHBOARD_API}/${signUp ? 'sign-up' : 'sign-in'}`, { email, password });
  signOut = (): Promise<void> => this.call('POST', `${DASHBOARD_API}/sign-out`, {});
  deployments = async (): Promise<HostedDeployment[]> => (await this.call<{ deployments: HostedDeployment[] }>('GET', '/v1/deployments')).deployments;
  unregister = (name: string): Promise<void> => this.call('DELETE', `/v1/deployments/${encodeURIComponent(name)}`);
  credentials = async (kind: 'api-keys' | 'tunnel-tokens'): Promise<CredentialView[]> => (await this.call<{ data: CredentialView[] }>('GET', `/v1/${kind}`)).data;
  createKey = (input: CreateKeyInput): Promise<CreatedCredential> => this.call('POST', '/v1/api-keys', input);
  createToken = (input: CreateTokenInput): Promise<CreatedCredential & { registerProblem?: string }> => this.call('POST', '/v1/tunnel-tokens', input);
  revoke = (kind: 'api-keys' | 'tunnel-tokens', id: string): Promise<void> => this.call('DELETE', `/v1/${kind}/${encodeURIComponent(id)}`);
  usage = (query: string): Promise<UsageReport> => this.call('GET', `/v1/usage?${query}`);
  requests = async (): Promise<RequestLogEntry[]> => (await this.call<{ data: RequestLogEntry[] }>('GET', '/v1/requests?limit=200')).data;
  device = (code: string): Promise<DeviceGrantView> => this.call('GET', `${DASHBOARD_API}/device?code=${encodeURIComponent(code)}`);
  decideDevice = (code: string, approve: boolean): Promise<DeviceGrantView> => this.call('POST', `${DASHBOARD_API}/device`, { user_code: code, approve });
}
