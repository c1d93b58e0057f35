#!/usr/bin/env node
/**
 * `referral-sync`: the command line of the sync service.
 *
 *   serve      the HTTP server (install/OAuth, webhooks, admin API, health, metrics)
 *   worker     the queue workers that run the pipeline
 *   sync       one sync against a portal/org with a token, or the sandbox
 *   dry-run    the same, planning without writing
 *   provision  create the fields we own
 *   sandbox    start the sandbox CRMs and print their credentials
 *   demo       everything above with nothing configured (`npm run demo`)
 *
 * Failures end with a non-zero exit and ONE line `error <CODE>: <message>` (the stack only with
 * `--verbose`), so scripts and humans both see what went wrong.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import type { Logger } from '../../connectors/contract.js';
import { isAppError } from '../errors.js';
import { createLogger } from '../log.js';
import { printSandboxBanner, startSandboxes } from '../sandbox/index.js';
import { runDemo } from './demo.js';
import { provisionCommand, syncCommand } from './one-shot.js';
import { consoleOut } from './output.js';
import type { Out } from './output.js';
import { intOption } from './target.js';

export interface CliIo {
  out: Out;
  err: (line: string) => void;
  /** Resolves when the user asks to stop (Ctrl-C, SIGTERM) — long-running commands wait on it. */
  stopSignal: () => Promise<void>;
}

function defaultIo(): CliIo {
  return {
    out: consoleOut(),
    err: (line) => process.stderr.write(`${line}\n`),
    stopSignal: () =>
      new Promise((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      }),
  };
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function cliLogger(verbose: boolean): Logger {
  return verbose
    ? createLogger({ level: 'debug', name: 'cli', destination: process.stderr as never })
    : quiet;
}

function targetOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--crm <crm>', 'which CRM').choices(['hubspot', 'salesforce']).default('hubspot'))
    .option('--token <token>', 'HubSpot private-app access token')
    .option('--portal-id <id>', 'HubSpot portal id (for the state key)')
    .option('--base-url <url>', 'HubSpot API base URL (default https://api.hubapi.com)')
    .option('--instance-url <url>', 'Salesforce instance URL')
    .option('--access-token <token>', 'Salesforce session id / access token')
    .option('--org-id <id>', 'Salesforce org id (for the state key)')
    .option('--sandbox', 'run against a freshly started sandbox CRM instead')
    .option('--contacts <n>', 'sandbox: contacts to seed', '2000')
    .option('--seed <n>', 'sandbox: seed of the generated account', '1')
    .option('--redis-url <url>', 'keep state in Redis (cursors, ledger) instead of memory')
    .option('--redis-prefix <prefix>', 'Redis key prefix', 'rs')
    .option('--tenant <id>', 'tenant id (default derived from the account)');
}

export function buildProgram(io: CliIo = defaultIo()): Command {
  const program = new Command('referral-sync')
    .description('Turns a HubSpot or Salesforce account into a referral engine.')
    .option('--verbose', 'log details and show stacks on failure')
    .showHelpAfterError();
  const verbose = (): boolean => program.opts<{ verbose?: boolean }>().verbose === true;

  program
    .command('serve')
    .description('run the HTTP server (configuration from environment variables, see README)')
    .action(async () => {
      const { startServe } = await import('../service/serve.js');
      const service = await startServe();
      io.out.line(`listening on ${service.url}`);
      await io.stopSignal();
      await service.close();
    });

  program
    .command('worker')
    .description('run the queue workers (scale by starting more processes against the same Redis)')
    .action(async () => {
      const { startWorkerService } = await import('../service/worker.js');
      const service = await startWorkerService();
      io.out.line('worker started');
      await io.stopSignal();
      const result = await service.close();
      io.out.line(`worker stopped (${result.handedBack} job(s) handed back)`);
    });

  targetOptions(program.command('sync').description('sync one account now and print what was written'))
    .addOption(
      new Option('--mode <mode>', 'read mode').choices(['full', 'incremental', 'recompute']).default('full'),
    )
    .option('--force', 'compute even if nothing changed')
    .option('--no-provision', 'sandbox: do not provision fields first')
    .option('--json', 'print the summary as JSON')
    .action(async (o) => {
      await syncCommand(o, false, io.out, cliLogger(verbose()));
    });

  targetOptions(program.command('dry-run').description('plan a sync and print it, writing nothing'))
    .addOption(new Option('--mode <mode>', 'read mode').choices(['full', 'incremental']).default('full'))
    .option('--no-provision', 'sandbox: do not provision fields first')
    .option('--json', 'print the summary as JSON')
    .action(async (o) => {
      await syncCommand(o, true, io.out, cliLogger(verbose()));
    });

  targetOptions(program.command('provision').description('create the fields we own (idempotent)')).action(
    async (o) => {
      await provisionCommand(o, io.out, cliLogger(verbose()));
    },
  );

  program
    .command('rotate-keys')
    .description('re-encrypt every stored token with the first key of TOKEN_KEYS (key rotation)')
    .action(async () => {
      const { loadConfig } = await import('../config.js');
      const { RedisStore } = await import('../store/redis-store.js');
      const config = loadConfig();
      const store = new RedisStore({
        redis: config.redis.url,
        prefix: `${config.redis.prefix}:s`,
        keyRing: config.tokenKeys,
      });
      try {
        const { rotated } = await store.rotateTokenEncryption();
        io.out.line(`re-encrypted ${rotated} token set(s) with key "${config.tokenKeys.keys[0]?.kid}"`);
      } finally {
        await store.close();
      }
    });

  program
    .command('sandbox')
    .description('start the sandbox HubSpot and Salesforce and print their credentials')
    .option('--contacts <n>', 'contacts to seed', '2000')
    .option('--seed <n>', 'seed of the generated account', '1')
    .option('--port <port>', 'HubSpot port (Salesforce: port + 1)', '4010')
    .action(async (o: { contacts: string; seed: string; port: string }) => {
      const running = await startSandboxes({
        seed: intOption(o.seed, '--seed', 1),
        contacts: intOption(o.contacts, '--contacts', 2000),
        port: intOption(o.port, '--port', 4010),
      });
      printSandboxBanner(running, (line) => io.out.line(line));
      io.out.line('\nCtrl-C stops the sandboxes.');
      await io.stopSignal();
      await running.close();
    });

  program
    .command('demo')
    .description('run the whole product on the sandbox CRMs with nothing configured')
    .option('--port <port>', 'server port', '3000')
    .option('--contacts <n>', 'contacts in the sandbox account', '3000')
    .option('--seed <n>', 'seed of the generated account', '42')
    .option('--once', 'exit after the run instead of keeping the server up')
    .action(async (o: { port: string; contacts: string; seed: string; once?: boolean }) => {
      const demo = await runDemo({
        port: intOption(o.port, '--port', 3000),
        contacts: intOption(o.contacts, '--contacts', 3000),
        seed: intOption(o.seed, '--seed', 42),
        once: o.once === true,
        out: io.out,
        logger: cliLogger(verbose()),
      });
      if (o.once !== true) await io.stopSignal();
      io.out.line('Stopping…');
      await demo.close();
    });

  return program;
}

/** Runs the CLI; resolves to the exit code (0 ok, 1 failure, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const program = buildProgram(io).exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0; usage errors were already printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    const verbose = argv.includes('--verbose');
    const code = isAppError(error) ? error.code : 'ERR_UNEXPECTED';
    const message = error instanceof Error ? error.message : String(error);
    io.err(`error ${code}: ${message.split('\n')[0]}`);
    if (isAppError(error) && message.includes('\n')) io.err(message.split('\n').slice(1).join('\n'));
    if (verbose && error instanceof Error && error.stack !== undefined) io.err(error.stack);
    return code === 'ERR_CLI_USAGE' ? 2 : 1;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href; // the npm bin is a symlink
if (invokedDirectly) {
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
