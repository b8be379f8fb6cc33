#!/usr/bin/env node
/**
 * dspipe's entry point: parses the command line (src/cli/cli.ts declares the
 * commands), runs the command and turns its outcome into an exit code.
 */
import { describeError, EXIT, exitCodeFor } from './run.js';
import { HelpShown, outcome } from './program.js';
import { createProgram } from './cli.js';

async function main(argv: string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv, { from: 'user' });
    return outcome.code;
  } catch (err) {
    if (err instanceof HelpShown) return err.exitCode;
    process.stderr.write(`dspipe: ${describeError(err)}\n`);
    return exitCodeFor(err);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`dspipe: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = EXIT.FAILED;
  },
);
