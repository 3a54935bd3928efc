import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { BlobClient } from '@spool/impl-http';
import type { Command } from 'commander';
import { CliError, EXIT } from './exit-codes.js';
import { writeOut } from './output.js';
import type { SettingsOf } from './program.js';

interface BlobFlags {
  user?: string;
  namespace?: string;
  blobBase: string;
}

export function addBlobCommands(program: Command, settingsOf: SettingsOf): void {
  const blobs = program
    .command('blobs')
    .description("a user's blobs (blob-sync): ls, get, put, rm")
    .option('--user <user>', 'whose blobs (default: $SPOOL_USER)')
    .option('--namespace <ns>', 'blob namespace')
    .option('--blob-base <path>', "the server's blob-sync base path (blobBasePath)", '/blob-sync/');
  const clientOf = (command: Command): BlobClient => {
    const settings = settingsOf(command);
    const flags = command.optsWithGlobals<BlobFlags>();
    const user = flags.user ?? process.env.SPOOL_USER;
    if (!user) throw new CliError('blobs need --user (or SPOOL_USER)', EXIT.USAGE);
    return new BlobClient({
      url: `${settings.server}/${flags.blobBase.replace(/^\/+|\/+$/g, '')}/`,
      user,
      ...(settings.token ? { token: settings.token } : {}),
      ...(flags.namespace ? { namespace: flags.namespace } : {}),
    });
  };
  blobs
    .command('ls')
    .description('list blob ids, newest first')
    .action(async (_options: unknown, command: Command) => {
      for (const id of await clientOf(command).list({ order: 'newest' })) await writeOut(`${id}\n`);
    });
  blobs
    .command('get')
    .description('print a blob (or write it to -o FILE)')
    .argument('<id>')
    .option('-o, --output <file>', 'write to this file')
    .action(async (id: string, options: { output?: string }, command: Command) => {
      const { data } = await clientOf(command).get(id);
      if (!options.output) return writeOut(data);
      const out = createWriteStream(options.output);
      await new Promise<void>((resolve, reject) => out.on('error', reject).end(data, resolve));
    });
  blobs
    .command('put')
    .description('store a file as a blob (refused if the id exists)')
    .argument('<id>')
    .argument('<file>')
    .action(async (id: string, file: string, _options: unknown, command: Command) => {
      const data = await readFile(file).catch((err: Error) => {
        throw new CliError(`cannot read ${file}: ${err.message}`);
      });
      await clientOf(command).put(id, data);
    });
  blobs
    .command('rm')
    .description('delete a blob')
    .argument('<id>')
    .action(async (id: string, _options: unknown, command: Command) => {
      await clientOf(command).delete(id);
    });
}
