/**
 * Prometheus metrics for one instance, served at /metrics.
 *
 * The database pool: postgres.js exposes no pool statistics (idle/busy connections), so only the
 * configured size and a live ping are reported.
 */
import type { Services } from '@parley/api';
import type { Database } from '@parley/db';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  contentType: string;
  render(): Promise<string>;
}

export function createMetrics(opts: {
  services: Services;
  database: Database;
  poolSize: number;
  redisConfigured: boolean;
  sockets: () => number;
  inFlight: () => number;
}): Metrics {
  const { services, database } = opts;
  const registry = new Registry();
  registry.setDefaultLabels({ instance_id: services.config.instanceId });
  collectDefaultMetrics({ register: registry, prefix: 'parley_process_' });

  new Gauge({
    name: 'parley_websocket_connections',
    help: 'Open WebSocket connections on this instance',
    registers: [registry],
    collect() {
      this.set(opts.sockets());
    },
  });
  new Gauge({
    name: 'parley_authenticated_connections',
    help: 'Open WebSocket connections with a signed-in user',
    registers: [registry],
    collect() {
      this.set(services.connections.size);
    },
  });
  const subscriptions = new Gauge({
    name: 'parley_event_subscriptions',
    help: 'Active messages.onEvent subscriptions (WebSocket or HTTP)',
    registers: [registry],
  });
  new Gauge({
    name: 'parley_inflight_calls',
    help: 'Queries and mutations received over WebSocket and not yet answered',
    registers: [registry],
    collect() {
      this.set(opts.inFlight());
    },
  });
  const sent = new Counter({
    name: 'parley_messages_sent_total',
    help: 'Messages stored (first send of a clientId)',
    registers: [registry],
  });
  const delivered = new Counter({
    name: 'parley_messages_delivered_total',
    help: 'message.new events yielded to subscribers (one per recipient subscription)',
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'parley_delivery_latency_seconds',
    help: 'From a message being stored (createdAt) to the server yielding it to a subscriber',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'parley_database_pool_size',
    help: 'Configured maximum PostgreSQL connections of this instance (postgres.js exposes no busy/idle counts)',
    registers: [registry],
    collect() {
      this.set(database.kind === 'postgres' ? opts.poolSize : 0);
    },
  });
  new Gauge({
    name: 'parley_database_up',
    help: '1 when the database answers a ping within 2 s',
    registers: [registry],
    async collect() {
      const ok = await Promise.race([
        database.ping().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
      ]);
      this.set(ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'parley_redis_up',
    help: '1 when both Redis connections (publish, subscribe) are ready; absent Redis reports 1',
    registers: [registry],
    collect() {
      this.set(services.bus.isHealthy() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'parley_redis_configured',
    help: '1 when this instance uses Redis',
    registers: [registry],
    collect() {
      this.set(opts.redisConfigured ? 1 : 0);
    },
  });

  services.messages.hooks = {
    sent: () => sent.inc(),
    delivered: (message) => {
      delivered.inc();
      const ms = Date.now() - Date.parse(message.createdAt);
      if (Number.isFinite(ms)) latency.observe(Math.max(0, ms) / 1000);
    },
    subscriptions: (delta) => subscriptions.inc(delta),
  };

  return { registry, contentType: registry.contentType, render: () => registry.metrics() };
}
