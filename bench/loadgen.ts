/**
 * The load generator, run as its own process so that it never shares an event loop (or, where the
 * kernel allows, a core) with the target. The orchestrator sends it jobs over IPC; it answers each
 * with a result. Every target is driven by this same code, so the rows of the table compare.
 */
import { createSocket, type Socket, type SocketOptions } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from './lib/histogram';
import type {
  FlowJob,
  FlowResult,
  FromGenerator,
  Job,
  JobResult,
  SessionJob,
  SessionResult,
  ToGenerator,
} from './lib/messages';

/** XORed into the sequence number at the end of each datagram, so that a merged or cut reply shows. */
const TAIL_MARK = 0xa5a5a5a5;
/** flow id (u32), sequence (u32), slot (u16), padding: the smallest datagram the checks need. */
export const MIN_DATAGRAM = 16;

/** Every address here is a literal; skipping dns.lookup saves a nextTick per send. */
const literalLookup: NonNullable<SocketOptions['lookup']> = (hostname, _options, callback) =>
  callback(null, hostname, 4);

function openSocket(): Socket {
  return createSocket({ type: 'udp4', lookup: literalLookup });
}

function bind(socket: Socket, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port: 0, address }, () => {
      socket.removeListener('error', reject);
      resolve();
    });
  });
}

function connect(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, address, () => {
      socket.removeListener('error', reject);
      resolve();
    });
  });
}

function closeSocket(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

function cpuPercent(start: NodeJS.CpuUsage, wallMs: number): number {
  const used = process.cpuUsage(start);
  return wallMs <= 0 ? 0 : ((used.user + used.system) / 1000 / wallMs) * 100;
}

interface Flow {
  id: number;
  socket: Socket;
  /** One buffer per in-flight slot: a slot's buffer is rewritten only after its datagram came back or timed out. */
  buffers: Buffer[];
  slotSeq: Uint32Array;
  slotSentAt: Float64Array;
  slotBusy: Uint8Array;
  nextSeq: number;
  lastReplySeq: number;
}

async function runFlows(job: FlowJob): Promise<FlowResult> {
  const { size, inflight } = job;
  if (size < MIN_DATAGRAM) throw new Error(`datagram size ${size} is below ${MIN_DATAGRAM} bytes`);
  const histogram = new LatencyHistogram();
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let sending = true;
  let sent = 0;
  let roundTrips = 0;
  let lost = 0;
  let malformed = 0;
  let reordered = 0;
  let late = 0;

  const send = (flow: Flow, slot: number): void => {
    const seq = flow.nextSeq;
    flow.nextSeq = (seq + 1) >>> 0;
    const buffer = flow.buffers[slot]!;
    buffer.writeUInt32LE(seq, 4);
    buffer.writeUInt32LE((seq ^ TAIL_MARK) >>> 0, size - 4);
    flow.slotSeq[slot] = seq;
    const now = performance.now();
    flow.slotSentAt[slot] = now;
    flow.slotBusy[slot] = 1;
    if (now >= windowStart) sent++;
    flow.socket.send(buffer);
  };

  const onReply = (flow: Flow, message: Buffer): void => {
    const now = performance.now();
    if (
      message.length !== size ||
      message.readUInt32LE(0) !== flow.id ||
      message.readUInt16LE(8) >= inflight ||
      message.readUInt32LE(size - 4) !== (message.readUInt32LE(4) ^ TAIL_MARK) >>> 0
    ) {
      malformed++;
      return;
    }
    const seq = message.readUInt32LE(4);
    const slot = message.readUInt16LE(8);
    if (flow.slotBusy[slot] !== 1 || flow.slotSeq[slot] !== seq) {
      late++;
      return;
    }
    flow.slotBusy[slot] = 0;
    if (seq < flow.lastReplySeq) reordered++;
    else flow.lastReplySeq = seq;
    const sentAt = flow.slotSentAt[slot]!;
    if (sentAt >= windowStart) histogram.recordNs((now - sentAt) * 1e6);
    if (now >= windowStart && now < windowEnd) roundTrips++;
    if (sending) send(flow, slot);
  };

  const flows: Flow[] = [];
  try {
    for (let id = 0; id < job.flows; id++) {
      const socket = openSocket();
      socket.on('error', () => {
        // ICMP errors (nobody listening) surface as lost datagrams; nothing to do here.
      });
      await bind(socket, '127.0.0.1');
      await connect(socket, job.target.port, job.target.address);
      const buffers: Buffer[] = [];
      for (let slot = 0; slot < inflight; slot++) {
        const buffer = Buffer.alloc(size, 0x5a);
        buffer.writeUInt32LE(id, 0);
        buffer.writeUInt16LE(slot, 8);
        buffers.push(buffer);
      }
      const flow: Flow = {
        id,
        socket,
        buffers,
        slotSeq: new Uint32Array(inflight),
        slotSentAt: new Float64Array(inflight),
        slotBusy: new Uint8Array(inflight),
        nextSeq: 0,
        lastReplySeq: 0,
      };
      socket.on('message', (message: Buffer) => onReply(flow, message));
      flows.push(flow);
    }

    const sweep = setInterval(
      () => {
        const now = performance.now();
        for (const flow of flows) {
          for (let slot = 0; slot < inflight; slot++) {
            if (flow.slotBusy[slot] !== 1 || now - flow.slotSentAt[slot]! < job.lossTimeoutMs) continue;
            flow.slotBusy[slot] = 0;
            if (flow.slotSentAt[slot]! >= windowStart) lost++;
            if (sending) send(flow, slot);
          }
        }
      },
      Math.max(5, Math.min(100, job.lossTimeoutMs / 4)),
    );

    for (const flow of flows) for (let slot = 0; slot < inflight; slot++) send(flow, slot);
    await sleep(job.warmupMs);
    windowStart = performance.now();
    const cpuStart = process.cpuUsage();
    await sleep(job.durationMs);
    windowEnd = performance.now();
    sending = false;
    const generatorCpuPercent = cpuPercent(cpuStart, windowEnd - windowStart);
    // Drain: wait for the replies still on their way; what is still missing then is lost.
    const drainDeadline = windowEnd + job.lossTimeoutMs;
    while (performance.now() < drainDeadline && flows.some((flow) => flow.slotBusy.includes(1))) {
      await sleep(5);
    }
    clearInterval(sweep);
    for (const flow of flows) {
      for (let slot = 0; slot < inflight; slot++) {
        if (flow.slotBusy[slot] === 1 && flow.slotSentAt[slot]! >= windowStart) lost++;
      }
    }
    const durationMs = windowEnd - windowStart;
    return {
      kind: 'flows',
      roundTrips,
      durationMs,
      roundTripsPerSecond: (roundTrips / durationMs) * 1000,
      sent,
      lost,
      malformed,
      reordered,
      late,
      latencyUs: histogram.summaryUs(),
      generatorCpuPercent,
    };
  } finally {
    for (const flow of flows) closeSocket(flow.socket);
  }
}

function sourceAddress(n: number, total: number): string {
  const index = (n % total) + 1;
  return `127.0.${index >> 8}.${index & 255}`;
}

async function runSessions(job: SessionJob): Promise<SessionResult> {
  const payload = Buffer.alloc(Math.max(1, job.size), 0x42);
  const used = new Set<string>();
  let started = 0;
  let completed = 0;
  let failed = 0;
  let reusedSkipped = 0;
  let sourceIndex = 0;
  const start = performance.now();
  const deadline = start + job.durationMs;
  const cpuStart = process.cpuUsage();

  /** One new peer: bind a fresh source, send, wait for the reply (or the timeout), close. */
  const attempt = async (): Promise<void> => {
    const socket = openSocket();
    try {
      const address = sourceAddress(sourceIndex++, job.sourceAddresses);
      await bind(socket, address);
      const key = `${address}:${socket.address().port}`;
      if (used.has(key)) {
        reusedSkipped++;
        started--;
        return;
      }
      used.add(key);
      const answered = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), job.replyTimeoutMs);
        socket.once('message', () => {
          clearTimeout(timer);
          resolve(true);
        });
        socket.on('error', () => undefined);
        socket.send(payload, job.target.port, job.target.address);
      });
      if (answered) completed++;
      else failed++;
    } finally {
      closeSocket(socket);
    }
  };

  const worker = async (): Promise<void> => {
    while (started < job.count && performance.now() < deadline) {
      started++;
      try {
        await attempt();
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const elapsedMs = performance.now() - start;
  return {
    kind: 'sessions',
    completed,
    failed,
    reusedSkipped,
    elapsedMs,
    sessionsPerSecond: (completed / elapsedMs) * 1000,
    generatorCpuPercent: cpuPercent(cpuStart, elapsedMs),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function run(job: Job): Promise<JobResult> {
  return job.kind === 'flows' ? runFlows(job) : runSessions(job);
}

function reply(message: FromGenerator): void {
  process.send?.(message);
}

process.on('message', (message: ToGenerator) => {
  if (message.type === 'exit') {
    process.disconnect?.();
    return;
  }
  run(message.job).then(
    (result) => reply({ type: 'result', id: message.id, result }),
    (error: unknown) =>
      reply({
        type: 'error',
        id: message.id,
        message: error instanceof Error ? error.message : String(error),
      }),
  );
});
reply({ type: 'ready' });
