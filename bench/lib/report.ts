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
  idleTimeoutMs: number;
  baselineRssBytes: number;
  afterSessionsRssBytes: number;
  bytesPerSession: number;
  afterTimeoutRssBytes: number;
  secondCycleAfterSessionsRssBytes: number;
  secondCycleAfterTimeoutRssBytes: number;
  /** RSS after the second cycle timed out minus after the first: memory kept per cycle of 10,000 sessions. */
  growthAfterTimeoutBytes: number;
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

export function summarizeFlows(cells: FlowCell[]): FlowSummary[] {
  const rate = (target: TargetName, workload: string): number =>
    median(
      cells
        .find((cell) => cell.target === target && cell.workload.name === workload)
        ?.runs.map((run) => run.roundTripsPerSecond) ?? [],
    );
  const p50 = (target: TargetName, workload: string): number =>
    median(
      cells
        .find((cell) => cell.target === target && cell.workload.name === workload)
        ?.runs.map((run) => run.latencyUs.p50) ?? [],
    );
  return cells.map((cell) => {
    const sum = (pick: (run: FlowResult) => number): number =>
      cell.runs.reduce((total, run) => total + pick(run), 0);
    const rps = median(cell.runs.map((run) => run.roundTripsPerSecond));
    const ownP50 = median(cell.runs.map((run) => run.latencyUs.p50));
    const sent = sum((run) => run.sent);
    const lost = sum((run) => run.lost);
    const directRate = rate('direct', cell.workload.name);
    const relayRate = rate('relay', cell.workload.name);
    const relayP50 = p50('relay', cell.workload.name);
    return {
      target: cell.target,
      workload: cell.workload.name,
      runs: cell.runs.length,
      roundTripsPerSecond: rps,
      p50Us: ownP50,
      p99Us: median(cell.runs.map((run) => run.latencyUs.p99)),
      sent,
      lost,
      lossPercent: sent === 0 ? 0 : (lost / sent) * 100,
      malformed: sum((run) => run.malformed),
      reordered: sum((run) => run.reordered),
      vsDirect: directRate === 0 ? 0 : rps / directRate,
      vsRelay: relayRate === 0 ? 0 : rps / relayRate,
      p50VsRelay: relayP50 === 0 ? 0 : ownP50 / relayP50,
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
      ['idle UDP sessions created per cycle', int(memory.sessions)],
      ['UDP listener idle_timeout', `${int(memory.idleTimeoutMs)} ms`],
      ['proxy RSS before', mib(memory.baselineRssBytes)],
      ['proxy RSS with the sessions open', mib(memory.afterSessionsRssBytes)],
      ['RSS per idle session', kib(memory.bytesPerSession)],
      ['proxy RSS after they timed out', mib(memory.afterTimeoutRssBytes)],
      ['second cycle: RSS with the sessions open', mib(memory.secondCycleAfterSessionsRssBytes)],
      ['second cycle: RSS after they timed out', mib(memory.secondCycleAfterTimeoutRssBytes)],
      ['growth from cycle 1 to cycle 2 (after timeout)', kib(memory.growthAfterTimeoutBytes)],
      ['live sessions after the timeout', int(memory.liveSessionsAfterTimeout)],
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
  return [line(table.header), widths.map((width) => '-'.repeat(width)).join('  '), ...table.rows.map(line)].join(
    '\n',
  );
}

export function renderMarkdown(table: Table): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const align = table.header.map((_, column) => (column < 2 ? '---' : '---:'));
  return [line(table.header), line(align), ...table.rows.map(line)].join('\n');
}
