// Task1 of the seed, driven by the l7mp operator, on one host without a cluster:
//   npm run demo            embedded API server + local pods + the operator; applies the seed's six
//                           CRs, checks the seed's test, then keeps running (kubectl works against it)
//   npm run demo -- --once  exits after the check (non-zero if a reply is missing or wrong)
// Options: --subnet 127.A.B.0/24 (default 127.0.0.0/24), --bin-dir DIR (use bins built there),
//          --operator-log-level LEVEL (default info).
// The static-config variant (no operator) is `npm run demo:static` (scripts/demo.ts).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sendSeedMessages } from '../examples/task1/demo/check';
import {
  binDirOrBuild,
  reportFailure,
  runIfInvoked,
  runUntilStopped,
  stopSignal,
} from '../examples/task1/demo/run-cli';
import { applySeed, startMesh, type Mesh } from '../examples/task1/demo/mesh';
import { parseSubnet } from '../examples/task1/demo/topology';

interface MeshArgs {
  once: boolean;
  subnet: string;
  binDir: string | undefined;
  operatorLogLevel: string;
}

const USAGE =
  'Usage: npm run demo -- [--once] [--subnet 127.A.B.0/24] [--bin-dir DIR] [--operator-log-level LEVEL]\n' +
  'Runs task1 of the seed with an embedded Kubernetes API server, local pods and the l7mp operator.\n';

function meshArgs(argv: string[]): MeshArgs | number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        once: { type: 'boolean', default: false },
        subnet: { type: 'string', default: '127.0.0.0/24' },
        'bin-dir': { type: 'string' },
        'operator-log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  return {
    once: values.once,
    subnet: parseSubnet(values.subnet),
    binDir: values['bin-dir'],
    operatorLogLevel: values['operator-log-level'],
  };
}

function printPods(mesh: Mesh): void {
  const pods = mesh.pods();
  const width = Math.max(...pods.map((pod) => pod.name.length));
  process.stdout.write('\nPods (local processes, each on its own loopback address):\n');
  for (const pod of pods) {
    process.stdout.write(`  ${pod.name.padEnd(width)}  ${pod.address.padEnd(15)}  ${pod.role}\n`);
  }
}

function printTryCommands(mesh: Mesh): void {
  const k = `kubectl --kubeconfig ${mesh.kubeconfig}`;
  const api = mesh.ingress.api;
  const gateway = `${mesh.gateway.address}:${mesh.gateway.port}`;
  process.stdout.write(
    [
      '',
      'The mesh keeps running; Ctrl-C stops everything. Try, in another shell:',
      '',
      '  # the seed resources, their status, the pods',
      `  ${k} get vsvc,targets,rules`,
      `  ${k} get pods -o wide`,
      '  # what the operator programmed into the ingress gateway',
      `  curl -s ${api}/config`,
      `  curl -s ${api}/listeners`,
      '  # the seed test by hand',
      `  socat - udp4:${gateway}`,
      '  # scale the workers: the demo starts the pod locally, the operator adds its IP as an endpoint',
      `  ${k} run worker-3 --image=l7mp/net-debug:0.5.3 --labels=app=worker`,
      `  curl -s ${api}/config | grep '"name": "/l7mp.io/v1/Target/default/udp-cluster/'`,
      `  ${k} delete pod worker-3`,
      '  # delete a Target or the gateway VirtualService, watch the data plane follow, apply them back',
      `  ${k} delete target udp-cluster`,
      `  ${k} delete vsvc gateway-vsvc`,
      `  curl -s ${api}/listeners | grep '"port": 9001'   # gone`,
      `  ${k} apply -f examples/task1/`,
      '',
      `API server: ${mesh.apiUrl}  (kubectl --server ${mesh.apiUrl} works too)`,
      `Operator metrics: http://127.0.0.1:${mesh.operator.metricsServer.port}/metrics`,
      `Logs: ${path.join(mesh.runDir, 'logs')}`,
      '',
    ].join('\n'),
  );
}

async function main(): Promise<number> {
  let args: MeshArgs | number;
  try {
    args = meshArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n`);
    return 2;
  }
  if (typeof args === 'number') return args;
  let mesh: Mesh | undefined;
  const { stopped, interrupted } = stopSignal('Stopping the operator, every pod and the API server...');
  try {
    const binDir = await binDirOrBuild(args.binDir);
    process.stdout.write(
      `Starting the API server, the pods of task1 (${args.subnet}.0/24) and the operator...\n`,
    );
    mesh = await startMesh({ subnet: args.subnet, binDir, operatorLogLevel: args.operatorLogLevel });
    if (interrupted()) return 130;
    printPods(mesh);
    process.stdout.write(`\n$ kubectl --kubeconfig ${mesh.kubeconfig} apply -f examples/task1/\n`);
    for (const line of await applySeed(mesh)) process.stdout.write(`${line}\n`);
    process.stdout.write('Every resource is Programmed.\n');

    process.stdout.write(`\n$ socat - udp4:${mesh.gateway.address}:${mesh.gateway.port}\n`);
    const results = await sendSeedMessages({ pods: mesh.pods(), gateway: mesh.gateway });
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
      for (const pod of mesh.pods()) {
        for (const p of pod.processes) process.stderr.write(`--- ${p.label}\n${p.tail(8)}\n`);
      }
      return 1;
    }
    process.stdout.write('\nOK: both replies came back as in the seed.\n');
    if (args.once) return 0;

    printTryCommands(mesh);
    return await runUntilStopped(stopped, mesh.unexpectedExit);
  } catch (error) {
    return reportFailure(error);
  } finally {
    await mesh?.stop();
  }
}

runIfInvoked(import.meta.url, main);
