// Task1 of the seed ("Routing and Protocol Conversion") on one host, with real processes and
// static proxy configs (no API server, no operator; `npm run demo` is the operator-driven mesh):
//   npm run demo:static            builds the bins, starts every pod, checks the seed's test, keeps running
//   npm run demo:static -- --once  exits after the check (non-zero if a reply is missing or wrong)
// Options: --subnet 127.A.B.0/24 (default 127.0.0.0/24), --bin-dir DIR (use bins built there).
// The proxies log at info level to files in the run directory (the demo reads their "ready" lines).
import { parseArgs } from 'node:util';
import { sendSeedMessages } from '../examples/task1/demo/check';
import {
  binDirOrBuild,
  reportFailure,
  runIfInvoked,
  runUntilStopped,
  stopSignal,
} from '../examples/task1/demo/run-cli';
import { parseSubnet, startTopology, type Topology } from '../examples/task1/demo/topology';

export * from '../examples/task1/demo/topology';
export * from '../examples/task1/demo/check';

interface DemoArgs {
  once: boolean;
  subnet: string;
  binDir: string | undefined;
}

function demoArgs(argv: string[]): DemoArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      once: { type: 'boolean', default: false },
      subnet: { type: 'string', default: '127.0.0.0/24' },
      'bin-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: npm run demo:static -- [--once] [--subnet 127.A.B.0/24] [--bin-dir DIR]\n' +
        'Starts task1 of the seed (UDP 9001 -> WebSocket -> UDS -> UDP) with one loopback address per pod.\n',
    );
    process.exit(0);
  }
  return {
    once: values.once,
    subnet: parseSubnet(values.subnet),
    binDir: values['bin-dir'],
  };
}

function printPods(topology: Topology): void {
  const width = Math.max(...topology.pods.map((pod) => pod.name.length));
  process.stdout.write('\nPods (each on its own loopback address, ports as in Kubernetes):\n');
  for (const pod of topology.pods) {
    const extra = pod.role === 'ingress' ? `  metrics: ${topology.metrics}` : '';
    process.stdout.write(
      `  ${pod.name.padEnd(width)}  ${pod.address.padEnd(15)}  REST API: ${pod.api}${extra}\n`,
    );
  }
  const ingress = topology.pods.find((pod) => pod.role === 'ingress');
  if (ingress !== undefined) process.stdout.write(`Try: curl ${ingress.api}/config\n`);
  process.stdout.write(`Logs and sockets: ${topology.runDir}\n\n`);
}

async function main(): Promise<number> {
  const args = demoArgs(process.argv.slice(2));
  let topology: Topology | undefined;
  const { stopped, interrupted } = stopSignal('Stopping every pod...');
  try {
    const binDir = await binDirOrBuild(args.binDir);
    process.stdout.write(`Starting task1 in ${args.subnet}.0/24...\n`);
    const starting = startTopology({ subnet: args.subnet, binDir });
    topology = await starting;
    if (interrupted()) return 130;
    printPods(topology);

    const gateway = `${topology.gateway.address}:${topology.gateway.port}`;
    process.stdout.write(`$ socat - udp4:${gateway}\n`);
    const results = await sendSeedMessages(topology);
    for (const result of results) {
      process.stdout.write(`${result.message}\n${result.reply ?? '(no reply within 5 s)'}\n`);
    }
    const failed = results.filter((result) => !result.ok);
    if (failed.length > 0) {
      for (const result of failed) {
        process.stderr.write(
          result.reply === undefined
            ? `FAILED: no reply to ${JSON.stringify(result.message)}\n`
            : `FAILED: unexpected reply to ${JSON.stringify(result.message)}: ${JSON.stringify(result.reply)}\n`,
        );
      }
      for (const pod of topology.pods) {
        for (const p of pod.processes) process.stderr.write(`--- ${p.label}\n${p.tail(8)}\n`);
      }
      return 1;
    }
    process.stdout.write('\nOK: both replies came back as in the seed.\n');
    if (args.once) return 0;

    process.stdout.write(
      `\nThe demo keeps running: send your own datagrams with \`socat - udp4:${gateway}\`. Ctrl-C stops it.\n`,
    );
    return await runUntilStopped(stopped, topology.unexpectedExit);
  } catch (error) {
    return reportFailure(error);
  } finally {
    await topology?.stop();
  }
}

runIfInvoked(import.meta.url, main);
