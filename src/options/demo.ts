/**
 * The option normaliser of `demo`: where the demo dump goes and how much
 * sample data to seed, checked before the emulator starts.
 */
import { timestampName } from './dump.js';
import { folderName, folderPath, opt, wholeNumber } from './validate.js';

export interface DemoOptionsInput {
  /** Folder the demo dump is written under (default `_backup`). */
  root?: string;
  /** Dump name (default `demo-<UTC time>`). */
  name?: string;
  /** Users per namespace in the sample data (default 50). */
  users?: number | string;
}

export interface NormalizedDemoOptions {
  root: string;
  name: string;
  users: number;
}

export const DEFAULT_DEMO_USERS = 50;

export function normalizeDemoOptions(input: DemoOptionsInput = {}, now: Date = new Date()): NormalizedDemoOptions {
  return {
    root: folderPath(opt('--root'), input.root),
    name: folderName(opt('--name'), input.name ?? `demo-${timestampName(now)}`, 'e.g. -n demo-1'),
    users: wholeNumber(opt('--users'), input.users, 1, 100_000, DEFAULT_DEMO_USERS),
  };
}
