/**
 * Argument parsing with commander: every command is declared once (flags,
 * help groups, descriptions with their defaults), commander parses it, prints
 * the generated help and suggests the closest command or flag on a typo.
 * Values arrive as strings and are validated in src/options/, which owns the
 * one message format; parsing mistakes become the same DspipeError (exit 2).
 */
import { Command, CommanderError, Option, type Help } from 'commander';
import { DspipeError, type DspipeErrorContext } from '../errors.js';

/** A repeatable string flag: `--kinds A --kinds B` → ['A', 'B']. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** `--kinds LIST` rather than commander's `--kinds <LIST>`: the help keeps dspipe's notation. */
const optionTerm = (option: Option): string => option.flags.replace(/<([^>]+)>/g, '$1');

/** Thrown (never printed by commander) for --help and --version: the text is already out. */
export class HelpShown extends Error {
  constructor(readonly exitCode: number) {
    super('help shown');
  }
}

/** A mistake caught while commander parsed the command line; `command` is the command it was parsing. */
export class UsageError extends DspipeError {
  constructor(readonly command: Command, message: string, context: DspipeErrorContext) {
    super('DSPIPE_INVALID_OPTION', message, context);
  }
}

/** Commander's message, reworded in dspipe's style: `unknown option '--kind' (did you mean --kinds?)`. */
function messageOf(err: CommanderError, cmd: Command): string {
  if (err.code === 'commander.excessArguments') return `unexpected argument ${JSON.stringify(cmd.args[cmd.registeredArguments.length])}`;
  return err.message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.+)\?\)$/, ' (did you mean $1?)')
    .replace(/\.$/, '');
}

/** The usage error a commander failure on `cmd` becomes. */
function usageError(err: CommanderError, cmd: Command): Error {
  // --help, --version, `dspipe help CMD`: the text is out, exit 0.
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || (err.code === 'commander.help' && err.exitCode === 0)) return new HelpShown(0);
  const path = commandPath(cmd);
  if (err.code === 'commander.help') {
    // A command that needs a subcommand got none; commander printed its help on stderr.
    const names = cmd.commands.map((c) => c.name());
    const what = cmd.parent ? `${cmd.name()} needs a command` : 'no command given';
    return new UsageError(cmd, `${what}: ${names.join(', ')}`, { hint: `see ${path} --help` });
  }
  return new UsageError(cmd, messageOf(err, cmd), { hint: `see ${path} --help`, cause: err });
}

/**
 * The flags of a command line commander refused, read as it would read them
 * for `cmd` (and the commands above it): `--name VALUE` where the option takes
 * a value, `--name=VALUE`, short forms under their long name, a bare flag as
 * true; nothing after `--`. Commander stops at the first unknown flag, so a
 * usage error reported as --json asks for (the project named, the stream the
 * command's JSON goes to) reads the line itself.
 */
export function flagsOnLine(argv: readonly string[], cmd: Command): Map<string, string | true> {
  const options: Option[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) options.push(...c.options);
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (!arg.startsWith('-') || arg === '-') continue;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
      continue;
    }
    const option = options.find((o) => o.long === arg || o.short === arg);
    const name = (option?.long ?? arg).replace(/^-+/, '');
    const next = argv[i + 1];
    if (option && next !== undefined && (option.required || (option.optional && !next.startsWith('-')))) {
      flags.set(name, next);
      i++;
    } else {
      flags.set(name, true);
    }
  }
  return flags;
}

export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Settings every dspipe command shares; call it on each command (subcommands too). */
export function configure(cmd: Command): Command {
  return cmd
    .exitOverride((err) => {
      throw usageError(err, cmd);
    })
    .configureOutput({ outputError: () => {} })
    .configureHelp({ optionTerm, showGlobalOptions: false, sortSubcommands: false } satisfies Partial<Help>)
    .helpOption('-h, --help', 'this help')
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
}

/** The exit code of the command that ran (commander ignores what actions return). */
export const outcome = { code: 0 };

/** An action that records the exit code its body returns. */
export function act<A extends unknown[]>(body: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    outcome.code = await body(...args);
  };
}

/** A new subcommand of `parent`, configured. */
export function subcommand(parent: Command, name: string, summary: string): Command {
  return configure(parent.command(name).summary(summary));
}

/** A string option, optionally repeatable, in a help group. */
export function opt(flags: string, description: string, group: string, repeatable = false): Option {
  const option = new Option(flags, description).helpGroup(group);
  return repeatable ? option.argParser(collect) : option;
}

/** `values` without its undefined entries: flags not given leave the library's defaults alone. */
export function defined<T extends object>(values: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

export interface ConnectionHelp {
  project?: string;
  database?: string;
  emulatorHost?: string;
}

/** --project, --database, --emulator-host and --rpc-timeout, in the group `group`. */
export function addConnectionOptions(cmd: Command, group = 'Connection:', help: ConnectionHelp = {}): Command {
  return cmd
    .addOption(opt('--project <ID>', help.project ?? 'project id (default: GOOGLE_CLOUD_PROJECT / DATASTORE_PROJECT_ID)', group))
    .addOption(opt('--database <ID>', help.database ?? 'named database (default: the (default) database)', group))
    .addOption(opt('--emulator-host <H:P>', help.emulatorHost ?? 'talk to an emulator (default: DATASTORE_EMULATOR_HOST)', group))
    .addOption(opt('--rpc-timeout <SECONDS>', 'deadline of each Datastore request; a host that never answers fails after one (default: 60)', group));
}
