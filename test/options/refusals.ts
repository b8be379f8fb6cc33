/**
 * The shape every options test opens with: a table of bad inputs, each
 * refused with DSPIPE_INVALID_OPTION, a hint, and a message that names the
 * CLI flag and the library option and quotes the bad value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDspipeError } from '../../src/errors.js';

/** [what, input, flag as the CLI spells it, library option, the value as the message quotes it]. */
export type Refusal<I> = readonly [what: string, input: I, flag: string, option: string, quoted: string];
/** [what, input, flags, library options]: rules between options, or one left out. */
export type Conflict<I> = readonly [what: string, input: I, flags: readonly string[], options: readonly string[]];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function assertRefused(run: () => unknown, flags: readonly string[], options: readonly string[], quoted?: string): void {
  assert.throws(run, (err) => {
    assert.ok(isDspipeError(err, 'DSPIPE_INVALID_OPTION'), String(err));
    for (const flag of flags) assert.ok(err.message.includes(flag), `names ${flag}: ${err.message}`);
    for (const option of options) {
      // A library-only option (retry.maxAttempts) is its own name at the start.
      const named = err.message.endsWith('(library option; no CLI flag)')
        ? err.message.startsWith(`${option} `)
        : new RegExp(`\\(library options?: (.*, )?${escape(option)}(, .*)?\\)$`).test(err.message);
      assert.ok(named, `names library option ${option}: ${err.message}`);
    }
    if (quoted !== undefined) assert.ok(err.message.includes(`${flags[0]} ${quoted} `), `quotes ${quoted}: ${err.message}`);
    assert.ok(err.hint, 'carries a hint');
    return true;
  });
}

export function refusalTests<I>(normalize: (input: I) => unknown, refusals: readonly Refusal<I>[], conflicts: readonly Conflict<I>[] = []): void {
  for (const [what, input, flag, option, quoted] of refusals) {
    test(`refuses ${what}`, () => assertRefused(() => normalize(input), [flag], [option], quoted));
  }
  for (const [what, input, flags, options] of conflicts) {
    test(`refuses ${what}`, () => assertRefused(() => normalize(input), flags, options));
  }
}
