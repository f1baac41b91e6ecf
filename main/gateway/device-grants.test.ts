import { describe, expect, it } from 'vitest';
import { DEVICE_GRANT_TTL_MS, DEVICE_POLL_INTERVAL_MS, DeviceGrants } from './device-grants.js';

describe('device grants', () => {
  it('pending until approved, slows a client that polls too fast, hands the approval out once', () => {
    let now = 1_000_000;
    const grants = new DeviceGrants(() => now);
    const { deviceCode, grant } = grants.start('Tokios Desktop on laptop')!;
    expect(grant.userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(grants.poll(deviceCode)).toEqual({ ok: false, error: 'authorization_pending' });
    now += 1000;
    expect(grants.poll(deviceCode)).toEqual({ ok: false, error: 'slow_down' });
    now += DEVICE_POLL_INTERVAL_MS + 5000;
    expect(grants.poll(deviceCode)).toEqual({ ok: false, error: 'authorization_pending' });
    expect(grants.view(grant.userCode.toLowerCase().replace('-', ''))).toMatchObject({ client_name: 'Tokios Desktop on laptop', status: 'pending' });
    expect(grants.decide(grant.userCode, 'acct_1', true)).toBe(true);
    expect(grants.decide(grant.userCode, 'acct_2', true)).toBe(false);
    expect(grants.poll(deviceCode)).toEqual({ ok: true, accountId: 'acct_1', clientName: 'Tokios Desktop on laptop' });
    expect(grants.poll(deviceCode)).toEqual({ ok: false, error: 'invalid_grant' });
  });

  it('denied and expired grants end with their errors', () => {
    let now = 0;
    const grants = new DeviceGrants(() => now);
    const denied = grants.start('a')!;
    grants.decide(denied.grant.userCode, 'acct_1', false);
    expect(grants.poll(denied.deviceCode)).toEqual({ ok: false, error: 'access_denied' });
    const late = grants.start('b')!;
    now += DEVICE_GRANT_TTL_MS;
    expect(grants.view(late.grant.userCode)).toBeNull();
    expect(grants.decide(late.grant.userCode, 'acct_1', true)).toBe(false);
    expect(grants.poll(late.deviceCode)).toEqual({ ok: false, error: 'expired_token' });
  });
});
