import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDspipeError } from '../../src/errors.js';
import {
  boolean, choice, conflict, DEFAULT_ROOT, folderName, folderPath, invalid, missing, nameList, numberInRange, opt, parsed, retryPolicy, selection, text, wholeNumber,
} from '../../src/options/validate.js';
import { DEFAULT_RETRY } from '../../src/datastore/retry.js';
import { matches } from '../../src/format/selection.js';

/** The exact message, and that it is coded and carries a hint. */
function refuses(run: () => unknown, message: string): void {
  assert.throws(run, (err) => {
    assert.ok(isDspipeError(err, 'DSPIPE_INVALID_OPTION'), String(err));
    assert.equal(err.message, message);
    assert.ok(err.hint, 'carries a hint');
    return true;
  });
}

const PAGE = opt('--page-size');

describe('the one message format', () => {
  test('flag, quoted value, what is wrong, library option', () => {
    refuses(() => invalid(PAGE, 'x', 'is wrong', 'h'), '--page-size "x" is wrong (library option: pageSize)');
    refuses(() => invalid({ option: 'retry.maxAttempts' }, 0, 'is wrong', 'h'), 'retry.maxAttempts 0 is wrong (library option; no CLI flag)');
    refuses(() => invalid(opt('--x'), new Date(NaN), 'is wrong', 'h'), '--x "Invalid Date" is wrong (library option: x)');
    refuses(() => invalid(opt('--x'), 5n, 'is wrong', 'h'), '--x 5n is wrong (library option: x)');
    refuses(() => invalid(opt('--x'), undefined, 'is wrong', 'h'), '--x undefined is wrong (library option: x)');
  });
  test('an entry of a file names the file', () => {
    assert.throws(() => invalid({ option: 'dump.K.splits', file: '/o.json' }, 0, 'is wrong', 'h'),
      (err) => isDspipeError(err) && err.message === 'dump.K.splits 0 is wrong (options file)' && err.file === '/o.json');
  });
  test('rules between options name both, both ways', () => {
    refuses(() => conflict(opt('--resume'), opt('--force'), 'cannot be combined with', 'h'), '--resume cannot be combined with --force (library options: resume, force)');
    refuses(() => missing([opt('--name'), opt('--in')], 'h'), '--name or --in is required (library options: name, in)');
    refuses(() => missing([opt('--kind')], 'h'), '--kind is required (library option: kind)');
  });
  test('opt() derives the library name from the flag', () => {
    assert.deepEqual(opt('--max-conflict-attempts'), { flag: '--max-conflict-attempts', option: 'maxConflictAttempts' });
    assert.deepEqual(opt('--no-snapshot', 'snapshot'), { flag: '--no-snapshot', option: 'snapshot' });
  });
});

describe('whole numbers: one parser for CLI text and library numbers', () => {
  const bad: Array<[unknown, string]> = [
    ['0', '--page-size "0" is not a whole number from 1 to 10 (library option: pageSize)'],
    [11, '--page-size 11 is not a whole number from 1 to 10 (library option: pageSize)'],
    [1.5, '--page-size 1.5 is not a whole number from 1 to 10 (library option: pageSize)'],
    ['1.5', '--page-size "1.5" is not a whole number from 1 to 10 (library option: pageSize)'],
    ['1e1', '--page-size "1e1" is not a whole number from 1 to 10 (library option: pageSize)'],
    ['', '--page-size "" is not a whole number from 1 to 10 (library option: pageSize)'],
    [NaN, '--page-size NaN is not a whole number from 1 to 10 (library option: pageSize)'],
    [null, '--page-size null is not a whole number from 1 to 10 (library option: pageSize)'],
    [true, '--page-size true is not a whole number from 1 to 10 (library option: pageSize)'],
  ];
  for (const [value, message] of bad) test(`refuses ${String(value)} (${typeof value})`, () => refuses(() => wholeNumber(PAGE, value, 1, 10), message));
  test('accepts digits and numbers alike; undefined gives the fallback', () => {
    assert.equal(wholeNumber(PAGE, ' 7 ', 1, 10), 7);
    assert.equal(wholeNumber(PAGE, '+7', 1, 10), 7);
    assert.equal(wholeNumber(PAGE, 10, 1, 10), 10);
    assert.equal(wholeNumber(PAGE, undefined, 1, 10), undefined);
    assert.equal(wholeNumber(PAGE, undefined, 1, 10, 3), 3);
  });
  test('open ranges say so', () => {
    refuses(() => wholeNumber(opt('--n'), 0, 1, Number.MAX_SAFE_INTEGER), '--n 0 is not a whole number of at least 1 (library option: n)');
    refuses(() => wholeNumber(opt('--seed'), 'x', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), '--seed "x" is not a whole number (library option: seed)');
    assert.equal(wholeNumber(opt('--seed'), '-3', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), -3);
  });
});

describe('numbers, choices, booleans, text', () => {
  test('numberInRange', () => {
    assert.equal(numberInRange(opt('--rate'), '0.25', 0, 1, 0), 0.25);
    assert.equal(numberInRange(opt('--rate'), undefined, 0, 1, 0.5), 0.5);
    refuses(() => numberInRange(opt('--rate'), '1.5', 0, 1, 0), '--rate "1.5" is not a number from 0 to 1 (library option: rate)');
    refuses(() => numberInRange(opt('--rate'), ' ', 0, 1, 0), '--rate " " is not a number from 0 to 1 (library option: rate)');
    refuses(() => numberInRange(opt('--rate'), Infinity, 0, Infinity, 0), '--rate Infinity is not a number from 0 to Infinity (library option: rate)');
  });
  test('choice', () => {
    assert.equal(choice(opt('--mode'), 'insert', ['upsert', 'insert'], 'upsert'), 'insert');
    assert.equal(choice(opt('--mode'), undefined, ['upsert', 'insert'], 'upsert'), 'upsert');
    refuses(() => choice(opt('--mode'), 'merge', ['upsert', 'insert'], 'upsert'), '--mode "merge" is not one of upsert, insert (library option: mode)');
    refuses(() => choice(opt('--mode'), 1, ['upsert', 'insert'], 'upsert'), '--mode 1 is not one of upsert, insert (library option: mode)');
  });
  test('boolean', () => {
    assert.equal(boolean(opt('--force'), undefined, false), false);
    assert.equal(boolean(opt('--force'), true, false), true);
    refuses(() => boolean(opt('--force'), 'true', false), '--force "true" is not true or false (library option: force)');
  });
  test('text', () => {
    assert.equal(text(opt('--host'), undefined, 'h', 'localhost'), 'localhost');
    assert.equal(text(opt('--host'), undefined, 'h'), undefined);
    refuses(() => text(opt('--host'), '', 'h'), '--host "" is not a non-empty string (library option: host)');
    refuses(() => text(opt('--host'), 'a\0', 'h'), '--host "a\\u0000" is not a non-empty string (library option: host)');
  });
});

describe('folder names and paths', () => {
  const NAME = opt('--name');
  for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'a\0b', ' a', 'a ', '\t']) {
    test(`refuses the folder name ${JSON.stringify(bad)}`, () => refuses(() => folderName(NAME, bad, 'h'), `--name ${JSON.stringify(bad)} is not a plain folder name (library option: name)`));
  }
  test('accepts plain names', () => {
    for (const good of ['20261122T094500Z', 'nightly.2026-11-22', 'pre-0001_x', 'a b', '...']) assert.equal(folderName(NAME, good, 'h'), good);
  });
  test('a path may hold slashes; blank or NUL is refused; left out it is the default root', () => {
    assert.equal(DEFAULT_ROOT, '_backup');
    assert.equal(folderPath(opt('--root'), undefined), DEFAULT_ROOT);
    assert.equal(folderPath(opt('--dir'), undefined, 'migrations'), 'migrations');
    assert.equal(folderPath(opt('--in'), '/tmp/dumps/x'), '/tmp/dumps/x');
    for (const bad of ['', ' ', 'a\0']) refuses(() => folderPath(opt('--root'), bad), `--root ${JSON.stringify(bad)} is not a folder path (library option: root)`);
  });
});

describe('name lists and format/ parsers', () => {
  test('an empty entry is restated in the one format, with format/\'s hint', () => {
    refuses(() => nameList(opt('--kinds'), 'A,,B'), '--kinds "A,,B" has an empty entry in "A,,B" (library option: kinds)');
    refuses(() => nameList(opt('--kinds'), 5), '--kinds 5 is not a list of names (library option: kinds)');
  });
  test('selection reads both lists', () => {
    const s = selection({ kinds: ['User', '-Audit*'], namespaces: '(default)' });
    assert.ok(matches(s.kinds, 'User') && !matches(s.kinds, 'AuditLog'));
    assert.ok(matches(s.namespaces, '') && !matches(s.namespaces, 'tenant'));
    assert.deepEqual(selection({}).kinds.include, []);
  });
  test('parsed() passes other errors through untouched', () => {
    const boom = new Error('boom');
    assert.throws(() => parsed(opt('--x'), 1, () => { throw boom; }), (err) => err === boom);
    assert.equal(parsed(opt('--x'), 1, () => 2), 2);
  });
});

describe('retry policy', () => {
  test('the defaults, with the given fields', () => {
    assert.deepEqual(retryPolicy(undefined), DEFAULT_RETRY);
    assert.notEqual(retryPolicy(undefined), DEFAULT_RETRY, 'a copy');
    assert.deepEqual(retryPolicy({ maxAttempts: 3 }), { ...DEFAULT_RETRY, maxAttempts: 3 });
  });
  test('each field checked by name', () => {
    refuses(() => retryPolicy(null), 'retry null is not a retry policy (library option; no CLI flag)');
    refuses(() => retryPolicy([]), 'retry [] is not a retry policy (library option; no CLI flag)');
    refuses(() => retryPolicy({ attempts: 3 }), 'retry.attempts 3 is not a retry setting (library option; no CLI flag)');
    refuses(() => retryPolicy({ maxAttempts: 0 }), 'retry.maxAttempts 0 is not a whole number from 1 to 1000 (library option; no CLI flag)');
    refuses(() => retryPolicy({ multiplier: 0.5 }), 'retry.multiplier 0.5 is not a number from 1 to 100 (library option; no CLI flag)');
    refuses(() => retryPolicy({ initialDelayMs: 10, maxDelayMs: 5 }), 'retry.maxDelayMs 5 is below retry.initialDelayMs (10) (library option; no CLI flag)');
  });
});
