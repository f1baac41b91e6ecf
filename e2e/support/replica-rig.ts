import { join } from 'node:path';
import { startPostgres, startRedis, type TestPostgres, type TestRedis } from './engines.js';
import { runTokios, tempDir, tokios, type TokiosProcess } from './processes.js';
import { TcpBalancer } from './tcp-balancer.js';

/**
 * A replicated gateway for tests and benchmarks: real PostgreSQL and Redis, N `tokios
 * gateway --store … --redis …` processes, and a round-robin TCP balancer in front of them,
 * which is the one URL clients and connectors use. Replicas can be killed and started again
 * on their port; the engines can be stopped and started again.
 */

export interface Replica {
  url: string;
  port: number;
  process: TokiosProcess;
}

export interface ReplicaRig {
  pg: TestPostgres;
  redis: TestRedis;
  storeUrl: string;
  replicas: Replica[];
  balancer: TcpBalancer;
  /** `tokios ARGS --store URL`; its last line of stdout (the secret or id it printed). */
  cli(args: string[], env?: NodeJS.ProcessEnv): Promise<string>;
  /** Starts replica `i` again (after it was killed), on the same port. */
  restart(i: number): Promise<Replica>;
  destroy(): Promise<void>;
}

export interface ReplicaRigOptions {
  replicas?: number;
  /** More `tokios gateway` arguments: the same for every replica, or replica `i`'s own. */
  gatewayArgs?: string[] | ((i: number) => string[]);
}

export async function startReplicaRig(options: ReplicaRigOptions = {}): Promise<ReplicaRig> {
  const dir = tempDir('tokios-replicas-');
  const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  const storeUrl = pg.url;
  const extraArgs = (i: number): string[] => (typeof options.gatewayArgs === 'function' ? options.gatewayArgs(i) : (options.gatewayArgs ?? []));
  const args = (i: number, port: number): string[] => ['gateway', '--port', String(port), '--data', join(dir.path, `replica-${i}`), '--store', storeUrl, '--redis', redis.url, ...extraArgs(i)];
  const start = async (i: number, port: number): Promise<Replica> => {
    const p = tokios(args(i, port));
    const url = (await p.waitFor(/^(http:\/\/\S+)$/m, 30_000))[1]!;
    return { url, port: Number(new URL(url).port), process: p };
  };
  const replicas = await Promise.all(Array.from({ length: options.replicas ?? 3 }, (_, i) => start(i, 0)));
  const balancer = await new TcpBalancer(replicas.map((r) => r.port)).listen();
  return {
    pg, redis, storeUrl, replicas, balancer,
    cli: async (cliArgs, env = {}) => {
      const result = await runTokios([...cliArgs, '--store', storeUrl], { env });
      if (result.code !== 0) throw new Error(`tokios ${cliArgs.join(' ')} failed (${result.code}): ${result.stderr}`);
      return result.stdout.trim().split('\n').pop()!;
    },
    restart: async (i) => {
      replicas[i] = await start(i, replicas[i]!.port);
      return replicas[i]!;
    },
    destroy: async () => {
      await balancer.close();
      await Promise.all(replicas.map((r) => r.process.stop(3000)));
      await Promise.all([pg.destroy(), redis.destroy()]);
      dir.remove();
    },
  };
}
