/**
 * `dspipe dump --plan | --shard I/N|auto | --finalize`: a dump spread over the
 * tasks of a Cloud Run Job or a Kubernetes Indexed Job. Flags → planDump,
 * dumpShard, finalizeDump; one line of progress per part; a summary at the end.
 */
import { connectionFrom, EXIT } from './run.js';
import { createProgress, formatBytes, formatCount, formatDuration, type ProgressTask } from './progress.js';
import { DspipeError } from '../errors.js';
import type { DumpRunOptions } from '../commands/dump.js';
import type { ShardEvent } from '../commands/dump-shard.js';
import type { FinalizeSummary } from '../commands/dump-finalize.js';

export interface ShardedFlags {
  project?: string;
  database?: string;
  emulatorHost?: string;
  rpcTimeout?: string;
  quiet?: boolean;
  json?: boolean;
  plan?: boolean;
  shard?: string;
  finalize?: boolean;
}

const finalizedText = (f: FinalizeSummary) =>
  f.wrote
    ? `finalized ${f.dir}: ${formatCount(f.entities)} entities in ${f.kinds} kind files from ${f.parts} parts (${f.joined} kinds joined), ${formatBytes(f.bytes)} in ${formatDuration(f.seconds)}\n`
    : `${f.dir} was finalized already: ${formatCount(f.entities)} entities in ${f.kinds} kind files\n`;

export async function runSharded(flags: ShardedFlags, options: DumpRunOptions): Promise<number> {
  const quiet = flags.quiet === true;
  const json = flags.json === true;
  const out = (text: string, value: unknown) => {
    if (json) process.stdout.write(`${JSON.stringify(value)}\n`);
    else if (!quiet) process.stderr.write(text);
  };
  const progress = createProgress({ enabled: process.stderr.isTTY === true && !quiet && !json });
  const tasks = new Map<number, ProgressTask>();
  const onEvent = (e: ShardEvent) => {
    if (e.type === 'warning') return progress.warn(`dspipe: warning: ${e.message}`);
    if (e.type === 'retry') return progress.log(`retrying ${e.kind ?? ''} in ${e.delayMs} ms: ${e.error}`);
    if (e.type === 'shard-start') return progress.setHeader(`dump ${e.name}, task ${e.index}/${e.count}: ${e.parts} parts${e.kept ? ` (${e.kept} kept)` : ''}`);
    if (e.type === 'finalize') return progress.log(e.by === 'this task' ? 'every part is done: this task finalized the dump' : 'every part is done: another task is finalizing the dump');
    if (e.type === 'part-start') tasks.set(e.id, progress.task(`part ${e.id} ${e.namespace ? `${e.namespace}/` : ''}${e.kind}`, e.estimate || undefined));
    else if (e.type === 'part-progress') tasks.get(e.id)?.update(e.entities, e.rawBytes);
    else if (e.type === 'part-done') {
      tasks.get(e.id)?.done();
      tasks.delete(e.id);
    }
  };
  const controller = new AbortController();
  const onSignal = () => controller.abort(new DspipeError('DSPIPE_IO', 'interrupted', { hint: 'run the same command again: finished parts are kept' }));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (flags.plan) {
      const { planDump } = await import('../commands/dump-plan.js');
      const s = await planDump(options, { connection: connectionFrom(flags), signal: controller.signal, onEvent });
      progress.stop();
      out(`plan ${s.dir}/plan.json: ${s.kinds} kinds, ${formatCount(s.entities)} entities in ${s.parts} parts${s.readTime ? ` at read time ${s.readTime}` : ' (current data, not a snapshot)'}\n` +
        `next: run the tasks (dspipe dump -n ${s.name} --shard auto, or --shard I/N for I = 0 … N-1); the last to finish finalizes\n`, s);
    } else if (flags.shard !== undefined) {
      const { dumpShard } = await import('../commands/dump-shard.js');
      const s = await dumpShard(options, { connection: connectionFrom(flags), signal: controller.signal, onEvent });
      progress.stop();
      out(`task ${s.shard.index}/${s.shard.count} of ${s.name}: ${s.parts.length} parts (${s.parts.filter((p) => p.kept).length} kept), ${formatCount(s.entities)} entities, ${formatBytes(s.bytes)} in ${formatDuration(s.seconds)}${s.retries ? `, ${s.retries} retries` : ''}\n` +
        (s.finalized ? finalizedText(s.finalized) : ''), s);
    } else {
      const { finalizeDump } = await import('../commands/dump-finalize.js');
      const s = await finalizeDump(options, { signal: controller.signal, onEvent });
      progress.stop();
      out(finalizedText(s), s);
    }
    return EXIT.OK;
  } catch (err) {
    progress.stop();
    if (controller.signal.aborted) {
      process.stderr.write('dspipe: dump interrupted; run the same command again: finished parts are kept\n');
      return EXIT.INTERRUPTED;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
