import { Command, CommanderError } from 'commander';
import { addBlobCommands } from './blobs.js';
import { describeFailure, EXIT, type ExitCode } from './exit-codes.js';
import { addHspCommands } from './hsp.js';
import { addManageCommands } from './manage.js';
import { addPipeCommands } from './pipe.js';
import { addReadCommands } from './read.js';
import { addServeCommand } from './serve-stub.js';
import { type ClientFlags, type ClientSettings, resolveSettings } from './settings.js';
import { addUploadCommand } from './upload.js';

/** The server and token a command uses, from its flags (global ones included), env and config file. */
export type SettingsOf = (command: Command) => ClientSettings;

const EPILOG = `
REF is a resource id, a name (ci/1234/build.log) or any URL the server hands out (http(s)://, ws(s)://, the web page's).
Server and token: --server/--token, else SPOOL_SERVER/SPOOL_TOKEN, else the config file
($SPOOL_CLI_CONFIG or ~/.config/spool/cli.json: {"server": "...", "token": "..."}).
Exit codes: 0 ok, 1 error, 2 usage, 3 resource FAILED, 4 connection lost or server unreachable, 5 not found, 6 token refused.`;

export function buildProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('spool')
    .description('Spool: upload, follow and read growing files; run the server')
    .option('--server <url>', 'server base URL (default http://127.0.0.1:8080)')
    .option('--token <token>', 'access token (API token or a resource token)')
    .addHelpText('after', EPILOG)
    .showSuggestionAfterError()
    .exitOverride();
  const settingsOf: SettingsOf = (command) => resolveSettings(command.optsWithGlobals<ClientFlags>(), env);
  addServeCommand(program);
  addUploadCommand(program, settingsOf);
  addReadCommands(program, settingsOf);
  addManageCommands(program, settingsOf);
  addPipeCommands(program, settingsOf);
  addBlobCommands(program, settingsOf);
  addHspCommands(program, settingsOf);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs `spool` with these arguments; resolves to the exit code (errors already printed as one line). */
export async function run(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  const program = buildProgram(env);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander printed its message (or the help) already.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const { line, exitCode } = describeFailure(err);
    process.stderr.write(`spool: ${line}\n`);
    return exitCode;
  }
}
