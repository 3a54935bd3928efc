import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Scenario, ScenarioReport } from '../scenario.js';

const runScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'run.js');

/**
 * ws-upload with the clients' masking forced to JavaScript: `ws` decides when it is
 * loaded, so the scenario runs in a child benchmark process started with
 * WS_NO_BUFFER_UTIL=1. The servers it spawns do not inherit the variable (their
 * unmasking stays native; the Spool server does not read it anyway).
 */
export const wsUploadJsMaskScenario: Scenario = {
  name: 'ws-upload-js-mask',
  description: 'ws-upload once more with WS_NO_BUFFER_UTIL=1 in the clients (the slow path users get without bufferutil)',
  async run(context: BenchContext): Promise<ScenarioReport> {
    // Rows a–c: the ceiling, the baseline and the SDK with its defaults are enough to show the slow path.
    const rows = context.rowFilter ? [...context.rowFilter].join(',') : 'a,b,c';
    const args = [
      runScript,
      '--only',
      'ws-upload',
      '--rows',
      rows,
      '--size-mb',
      String(context.sizeBytes / 1024 / 1024),
      '--repeat',
      '1',
      '--json',
    ];
    const child = spawn(process.execPath, args, { env: { ...process.env, WS_NO_BUFFER_UTIL: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Exit code 1 still carries a report (a row failed); anything else does not.
    if (code !== 0 && code !== 1) throw new Error(`the WS_NO_BUFFER_UTIL=1 run exited with ${code}`);
    const [report] = JSON.parse(stdout) as ScenarioReport[];
    if (!report) throw new Error('the WS_NO_BUFFER_UTIL=1 run reported nothing');
    return {
      ...report,
      scenario: 'ws-upload-js-mask',
      title: 'Upload over WebSocket, clients WITHOUT bufferutil (WS_NO_BUFFER_UTIL=1), 1 run per row',
      targets: [],
      notes: [
        // The runner adds the steal figure of this scenario itself.
        ...report.notes.filter((note) => !note.startsWith('CPU steal')),
        'Informational: shows what users get when the native addon is missing; the targets apply to the fast path.',
      ],
    };
  },
};
