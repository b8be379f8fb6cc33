#!/usr/bin/env node
/**
 * dspipe's entry point: parses the command line (src/cli/cli.ts declares the
 * commands), runs the command and turns its outcome into an exit code.
 */
import { describeError, endOnBrokenPipe, EXIT, exitCodeFor } from './run.js';
import { HelpShown, outcome, UsageError } from './program.js';
import { createProgram } from './cli.js';
import { printJsonError, printUsageErrorJson } from './json.js';

// google-auth-library probes the GCE metadata server when it looks for credentials and
// reports the miss as a process warning; the credentials error says what to do instead.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'MetadataLookupWarning') process.stderr.write(`(node) ${warning.name}: ${warning.message}\n`);
});

async function main(argv: string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv, { from: 'user' });
    return outcome.code;
  } catch (err) {
    if (err instanceof HelpShown) return err.exitCode;
    if (!printJsonError(err) && err instanceof UsageError) printUsageErrorJson(err, argv);
    process.stderr.write(`dspipe: ${describeError(err)}\n`);
    return exitCodeFor(err);
  }
}

// A rejection nobody awaited (a library's internal promise): one message, not Node's stack and crash.
process.on('unhandledRejection', (err) => {
  process.stderr.write(`dspipe: ${describeError(err)}\n`);
  process.exit(EXIT.FAILED);
});

endOnBrokenPipe();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`dspipe: ${describeError(err)}\n`);
    process.exitCode = EXIT.FAILED;
  },
);
