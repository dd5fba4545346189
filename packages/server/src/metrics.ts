/**
 * The server's Prometheus metrics (prom-client), in a registry of the server's own so that two
 * servers in one process (tests, an application) do not share counters.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly rounds = new Counter({
    name: 'edgefl_rounds_total',
    help: 'Rounds completed',
    labelNames: ['updated'] as const,
    registers: [this.registry],
  });
  readonly round = new Gauge({
    name: 'edgefl_round',
    help: 'The last completed round',
    registers: [this.registry],
  });
  readonly clientsConnected = new Gauge({
    name: 'edgefl_clients_connected',
    help: 'Authenticated clients connected',
    registers: [this.registry],
  });
  readonly clientsEnrolled = new Gauge({
    name: 'edgefl_clients_enrolled',
    help: 'Clients enrolled (revoked ones included)',
    registers: [this.registry],
  });
  readonly tasksInFlight = new Gauge({
    name: 'edgefl_tasks_in_flight',
    help: 'Tasks sent and not yet answered',
    registers: [this.registry],
  });
  readonly clientOutcomes = new Counter({
    name: 'edgefl_client_outcomes_total',
    help: "Clients' outcomes in rounds: aggregated, dropped, late, failed, excluded",
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'edgefl_refused_messages_total',
    help: 'Frames, messages and connections refused, by reason code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly bytes = new Counter({
    name: 'edgefl_bytes_total',
    help: 'Payload bytes exchanged with clients',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly roundSeconds = new Histogram({
    name: 'edgefl_round_duration_seconds',
    help: 'Wall time of a round',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly epsilon = new Gauge({
    name: 'edgefl_privacy_epsilon',
    help: 'Differential privacy spent (epsilon at the run’s delta)',
    registers: [this.registry],
  });
}
