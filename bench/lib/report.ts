/** Turning bench results into tables: aligned text for the terminal, Markdown for docs/performance.md. */
import type { FlowResult, SessionResult } from './messages';

export type TargetName = 'direct' | 'relay' | 'udp-udp' | 'seed-chain';

export const TARGET_LABELS: Record<TargetName, string> = {
  direct: '1 direct (UDP echo)',
  relay: '2 bare relay',
  'udp-udp': '3 l7mp UDP→UDP',
  'seed-chain': '4 seed chain',
};

export interface Workload {
  /** Short name for the command line, e.g. 64x16. */
  key: string;
  name: string;
  size: number;
  flows: number;
  inflight: number;
}

export interface FlowCell {
  target: TargetName;
  workload: Workload;
  runs: FlowResult[];
  /** CPU use of the target's own processes (relay, proxies; the echo for "direct"), % of one core, per run. */
  targetCpuPercent: number[];
}

export interface FlowSummary {
  target: TargetName;
  workload: string;
  runs: number;
  roundTripsPerSecond: number;
  p50Us: number;
  p99Us: number;
  sent: number;
  lost: number;
  lossPercent: number;
  malformed: number;
  reordered: number;
  vsDirect: number;
  vsRelay: number;
  p50VsRelay: number;
  generatorCpuPercent: number;
  targetCpuPercent: number;
}

export interface ChurnSummary {
  target: TargetName;
  sessionsPerSecond: number;
  completed: number;
  failed: number;
  vsRelay: number;
  generatorCpuPercent: number;
  runs: SessionResult[];
}

export interface MemorySummary {
  sessions: number;
  /** Sessions open when RSS was read (fds gained since the baseline: one upstream socket each). */
  sessionsOpenAtReading: number;
  idleTimeoutMs: number;
  /** After warm-up sessions timed out and a forced full GC. */
  baselineRssBytes: number;
  /** With the sessions open, before any forced GC (garbage from creating them included). */
  afterSessionsRawRssBytes: number;
  /** With the sessions open, after a forced full GC. */
  afterSessionsRssBytes: number;
  bytesPerSession: number;
  rawBytesPerSession: number;
  heapBytesPerSession: number;
  afterTimeoutRssBytes: number;
  secondCycleAfterSessionsRssBytes: number;
  secondCycleAfterTimeoutRssBytes: number;
  /** RSS after the second cycle timed out minus after the first (both after GC): what a cycle leaves behind. */
  growthAfterTimeoutBytes: number;
  heapGrowthAfterTimeoutBytes: number;
  fds: { baseline: number; open: number; afterTimeout: number; secondAfterTimeout: number };
  liveSessionsAfterTimeout: number;
  failedSessions: number;
}

export interface Bar {
  name: string;
  required: string;
  measured: string;
  pass: boolean;
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Medians over runs. Ratios are taken within each run (round) first, against the direct and relay
 * cells of the same workload and round, and then the median of those ratios is reported, so
 * that load from elsewhere that hit one round does not skew a ratio.
 */
export function summarizeFlows(cells: FlowCell[]): FlowSummary[] {
  const cellOf = (target: TargetName, workload: string): FlowCell | undefined =>
    cells.find((cell) => cell.target === target && cell.workload.name === workload);
  const ratio = (
    cell: FlowCell,
    reference: FlowCell | undefined,
    pick: (run: FlowResult) => number,
  ): number => {
    if (reference === undefined) return 0;
    const ratios: number[] = [];
    cell.runs.forEach((run, round) => {
      const other = reference.runs[round];
      if (other !== undefined && pick(other) > 0) ratios.push(pick(run) / pick(other));
    });
    return median(ratios);
  };
  const rate = (run: FlowResult): number => run.roundTripsPerSecond;
  const p50 = (run: FlowResult): number => run.latencyUs.p50;
  return cells.map((cell) => {
    const sum = (pick: (run: FlowResult) => number): number =>
      cell.runs.reduce((total, run) => total + pick(run), 0);
    const sent = sum((run) => run.sent);
    const lost = sum((run) => run.lost);
    const direct = cellOf('direct', cell.workload.name);
    const relay = cellOf('relay', cell.workload.name);
    return {
      target: cell.target,
      workload: cell.workload.name,
      runs: cell.runs.length,
      roundTripsPerSecond: median(cell.runs.map(rate)),
      p50Us: median(cell.runs.map(p50)),
      p99Us: median(cell.runs.map((run) => run.latencyUs.p99)),
      sent,
      lost,
      lossPercent: sent === 0 ? 0 : (lost / sent) * 100,
      malformed: sum((run) => run.malformed),
      reordered: sum((run) => run.reordered),
      vsDirect: ratio(cell, direct, rate),
      vsRelay: ratio(cell, relay, rate),
      p50VsRelay: ratio(cell, relay, p50),
      generatorCpuPercent: median(cell.runs.map((run) => run.generatorCpuPercent)),
      targetCpuPercent: median(cell.targetCpuPercent),
    };
  });
}

const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const fixed = (value: number, digits: number): string => value.toFixed(digits);
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export interface Table {
  header: string[];
  rows: string[][];
}

export function flowTable(summaries: FlowSummary[]): Table {
  return {
    header: [
      'target',
      'workload',
      'round trips/s',
      'p50 µs',
      'p99 µs',
      'lost',
      'malformed',
      '× direct',
      '× relay',
      'p50 × relay',
      'CPU % gen / target',
    ],
    rows: summaries.map((s) => [
      TARGET_LABELS[s.target],
      s.workload,
      int(s.roundTripsPerSecond),
      fixed(s.p50Us, 1),
      fixed(s.p99Us, 1),
      `${s.lost} (${fixed(s.lossPercent, 2)} %)`,
      String(s.malformed),
      fixed(s.vsDirect, 2),
      fixed(s.vsRelay, 2),
      fixed(s.p50VsRelay, 2),
      `${int(s.generatorCpuPercent)} / ${int(s.targetCpuPercent)}`,
    ]),
  };
}

export function churnTable(churn: ChurnSummary[]): Table {
  return {
    header: ['target', 'new UDP sessions/s', 'completed', 'failed', '× relay', 'CPU % gen'],
    rows: churn.map((c) => [
      TARGET_LABELS[c.target],
      int(c.sessionsPerSecond),
      int(c.completed),
      int(c.failed),
      fixed(c.vsRelay, 2),
      int(c.generatorCpuPercent),
    ]),
  };
}

export function memoryTable(memory: MemorySummary): Table {
  return {
    header: ['measurement', 'value'],
    rows: [
      ['idle UDP sessions created per cycle (2 cycles)', int(memory.sessions)],
      ['sessions open at the reading (fds gained)', int(memory.sessionsOpenAtReading)],
      ['UDP listener idle_timeout', `${int(memory.idleTimeoutMs)} ms`],
      ['proxy RSS before, 200 warm-up sessions open (after GC)', mib(memory.baselineRssBytes)],
      ['RSS with the sessions open, before GC', mib(memory.afterSessionsRawRssBytes)],
      ['RSS with the sessions open, after GC', mib(memory.afterSessionsRssBytes)],
      [
        'RSS per idle session, after GC (before GC)',
        `${kib(memory.bytesPerSession)} (${kib(memory.rawBytesPerSession)})`,
      ],
      ['V8 heap per idle session', kib(memory.heapBytesPerSession)],
      ['RSS after they timed out (after GC)', mib(memory.afterTimeoutRssBytes)],
      [
        'cycle 2: RSS open / timed out',
        `${mib(memory.secondCycleAfterSessionsRssBytes)} / ${mib(memory.secondCycleAfterTimeoutRssBytes)}`,
      ],
      [
        'growth cycle 1 → 2 after timeout: RSS / heap',
        `${kib(memory.growthAfterTimeoutBytes)} / ${kib(memory.heapGrowthAfterTimeoutBytes)}`,
      ],
      [
        'open fds: before warm-up / open / timed out / cycle 2 timed out',
        `${memory.fds.baseline} / ${memory.fds.open} / ${memory.fds.afterTimeout} / ${memory.fds.secondAfterTimeout}`,
      ],
      ['live UDP sessions after the timeout', int(memory.liveSessionsAfterTimeout)],
      ['sessions that got no reply', int(memory.failedSessions)],
    ],
  };
}

export function barsTable(bars: Bar[]): Table {
  return {
    header: ['bar', 'required', 'measured', 'result'],
    rows: bars.map((bar) => [bar.name, bar.required, bar.measured, bar.pass ? 'PASS' : 'MISS']),
  };
}

export function renderText(table: Table): string {
  const widths = table.header.map((cell, column) =>
    Math.max(cell.length, ...table.rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [
    line(table.header),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...table.rows.map(line),
  ].join('\n');
}

export function renderMarkdown(table: Table): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const align = table.header.map((_, column) => (column < 2 ? '---' : '---:'));
  return [line(table.header), line(align), ...table.rows.map(line)].join('\n');
}
