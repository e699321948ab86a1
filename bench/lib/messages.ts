/** The messages the orchestrator (bench/run.ts) exchanges with its child processes over IPC. */

export interface Target {
  address: string;
  port: number;
}

/** Closed-loop traffic: `flows` sockets, each keeping `inflight` datagrams of `size` bytes unanswered. */
export interface FlowJob {
  kind: 'flows';
  target: Target;
  size: number;
  flows: number;
  inflight: number;
  warmupMs: number;
  durationMs: number;
  /** An unanswered datagram older than this is counted lost and its slot sends a new one. */
  lossTimeoutMs: number;
}

/**
 * New peers: each attempt opens a socket on a fresh source address:port, sends one datagram,
 * waits for the reply and closes. Runs until `count` attempts finished or `durationMs` passed.
 */
export interface SessionJob {
  kind: 'sessions';
  target: Target;
  size: number;
  concurrency: number;
  count: number;
  durationMs: number;
  replyTimeoutMs: number;
  /** Source addresses 127.0.<n / 256>.<n % 256> for n in [1, sourceAddresses], used in turn. */
  sourceAddresses: number;
}

export type Job = FlowJob | SessionJob;

export interface FlowResult {
  kind: 'flows';
  /** Round trips completed inside the measuring window. */
  roundTrips: number;
  durationMs: number;
  roundTripsPerSecond: number;
  /** Datagrams sent inside the window. */
  sent: number;
  /** Datagrams sent inside the window and never answered within the loss timeout. */
  lost: number;
  /** Replies that were not exactly one datagram as sent (merged, split, truncated or foreign). */
  malformed: number;
  /** Replies that arrived after an earlier-sent datagram's reply of the same flow had not (reordering). */
  reordered: number;
  /** Replies to datagrams already given up as lost. */
  late: number;
  latencyUs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** The load generator's own CPU use in the window, in percent of one core. */
  generatorCpuPercent: number;
}

export interface SessionResult {
  kind: 'sessions';
  completed: number;
  failed: number;
  /** Source address:port pairs skipped because they had been used before in this job. */
  reusedSkipped: number;
  elapsedMs: number;
  sessionsPerSecond: number;
  generatorCpuPercent: number;
}

export type JobResult = FlowResult | SessionResult;

export type ToGenerator = { type: 'run'; id: number; job: Job } | { type: 'exit' };

export type FromGenerator =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: JobResult }
  | { type: 'error'; id: number; message: string };

export type FromServers = { type: 'ready'; udpEchoPort: number; udsEchoPath: string };
