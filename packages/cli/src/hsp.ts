import { basename } from 'node:path';
import { HspClient } from '@spool/impl-hsp';
import type { Command } from 'commander';
import { CliError, EXIT } from './exit-codes.js';
import { listRow } from './manage.js';
import { writeErr, writeOut } from './output.js';
import type { SettingsOf } from './program.js';

export function addHspCommands(program: Command, settingsOf: SettingsOf): void {
  const hsp = program
    .command('hsp')
    .description('talk HSP over TCP: ping, status, ls, get, upload')
    .option('--hsp-host <host>', 'HSP host (default: the --server host)')
    .option('--hsp-port <port>', "HSP port (the server's hspPort; default $SPOOL_HSP_PORT or 9998)");
  const clientOf = (command: Command): HspClient => {
    const settings = settingsOf(command);
    const flags = command.optsWithGlobals<{ hspHost?: string; hspPort?: string }>();
    const portText = flags.hspPort ?? process.env.SPOOL_HSP_PORT ?? '9998';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`--hsp-port ${portText} is not a port`, EXIT.USAGE);
    const host = flags.hspHost ?? new URL(settings.server).hostname;
    return new HspClient({ host, port, ...(settings.token ? { token: settings.token } : {}) });
  };
  const using = async <T>(command: Command, use: (client: HspClient) => Promise<T>): Promise<T> => {
    const client = clientOf(command);
    try {
      return await use(client);
    } finally {
      await client.close();
    }
  };
  hsp
    .command('ping')
    .description('check the HSP listener answers')
    .action((_o: unknown, command: Command) => using(command, async (c) => writeOut(`${await c.ping('spool')}\n`)));
  hsp
    .command('status')
    .argument('<id>')
    .description("a resource's JSON as HSP's /status gives it")
    .action((id: string, _o: unknown, command: Command) =>
      using(command, async (c) => writeOut(`${JSON.stringify(await c.status(id), null, 2)}\n`)),
    );
  hsp
    .command('ls')
    .description('list resources (one page)')
    .action((_o: unknown, command: Command) =>
      using(command, async (c) => {
        for (const r of (await c.list()).resources)
          await writeOut(`${listRow({ ...r, name: r.name ?? null, lines: r.lines ?? null, createdAt: String(r.createdAt) })}\n`);
      }),
    );
  hsp
    .command('get')
    .argument('<id>')
    .description("print the visible bytes of a resource (at most the server's answer limit)")
    .action((id: string, _o: unknown, command: Command) => using(command, async (c) => writeOut(await c.download(id))));
  hsp
    .command('upload')
    .argument('<file>')
    .description('upload a file as an HSP stream (resumed by key after a cut); prints where it is read')
    .action((file: string, _o: unknown, command: Command) =>
      using(command, async (c) => {
        const result = await c.upload(file, { filename: basename(file) });
        await writeOut(`${result.resource}\n`);
        writeErr(`completed ${result.key}: ${result.size} bytes${result.resumes ? `, resumed ${result.resumes}×` : ''}\n`);
      }),
    );
}
