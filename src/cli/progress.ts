/**
 * Live progress on stderr for long commands (dump, restore, clear, schema,
 * migrate): one line per active task with items, bytes (KiB, MiB), rate and — when a total
 * is known — ETA, redrawn in place at most every `intervalMs`. Silent when
 * stderr is not a terminal or with --quiet, so logs and pipes stay clean.
 */
import type { Writable } from 'node:stream';

export interface ProgressOptions {
  stream?: Writable & { isTTY?: boolean; columns?: number };
  /** Default: the stream is a TTY. */
  enabled?: boolean;
  /** What the counted items are called ("entities"). */
  unit?: string;
  intervalMs?: number;
  /** Most task lines drawn at once; the rest are summed up in one line. */
  maxLines?: number;
  now?: () => number;
}

export interface ProgressTask {
  readonly label: string;
  readonly items: number;
  readonly bytes: number;
  total: number | undefined;
  /** Sets the counters (monotonic totals so far). */
  update(items: number, bytes?: number): void;
  add(items: number, bytes?: number): void;
  done(): void;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 1024-based, labelled so: KiB, MiB, GiB, TiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A plain text table: first row is the header; columns of numbers (and their headers) right-aligned. */
export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const numeric = (cell: string) => /^[\d,.]+( [KMGT]?i?B|\/s| s)?$/.test(cell) || cell === '-' || cell === 'kept';
  const right = widths.map((_, i) => rows.length > 1 && rows.slice(1).every((row) => row[i] === undefined || numeric(row[i]!)));
  return rows
    .map((row) => row.map((cell, i) => (right[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n') + '\n';
}

class Task implements ProgressTask {
  items = 0;
  bytes = 0;
  finished = false;
  readonly started: number;

  constructor(
    readonly label: string,
    public total: number | undefined,
    private readonly owner: Progress,
  ) {
    this.started = owner.now();
  }

  /** Whether bytes were ever reported: restore and clear count entities only, and show no "0 B". */
  hasBytes = false;

  update(items: number, bytes?: number): void {
    this.items = items;
    if (bytes !== undefined) {
      this.bytes = bytes;
      this.hasBytes = true;
    }
    this.owner.schedule();
  }

  add(items: number, bytes?: number): void {
    this.update(this.items + items, bytes === undefined ? undefined : this.bytes + bytes);
  }

  done(): void {
    this.finished = true;
    this.owner.finish(this);
  }

  /** The columns of its line: label, count, bytes ('' when none), rate, ETA ('' when unknown). */
  fields(now: number): [label: string, count: string, bytes: string, rate: string, eta: string] {
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const rate = this.items / seconds;
    const count = this.total === undefined ? formatCount(this.items) : `${formatCount(this.items)}/${formatCount(this.total)}`;
    const eta = this.total !== undefined && rate > 0 && this.items < this.total ? `ETA ${formatDuration((this.total - this.items) / rate)}` : '';
    return [this.label, count, this.hasBytes ? formatBytes(this.bytes) : '', `${formatCount(rate)}/s`, eta];
  }
}

/**
 * Task lines in aligned columns (labels left, numbers right). Too wide for the
 * terminal, the labels give way first (cut in the middle, down to 8
 * characters), then the bytes column, then the rate, so the counts and the ETA
 * stay readable on a narrow one.
 */
function layout(rows: ReturnType<Task['fields']>[], unit: string, width: number): string[] {
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(0, ...rows.map((r) => r[i]!.length)));
  const line = (r: ReturnType<Task['fields']>, labelWidth: number, bytes: boolean, rate: boolean) => {
    const label = r[0].length > labelWidth ? `${r[0].slice(0, Math.max(1, Math.ceil(labelWidth / 2) - 1))}…${r[0].slice(r[0].length - Math.floor(labelWidth / 2))}` : r[0];
    const cells = [label.padEnd(labelWidth), `${r[1].padStart(widths[1]!)} ${unit}`];
    if (bytes && widths[2]! > 0) cells.push(r[2].padStart(widths[2]!));
    if (rate) cells.push(r[3].padStart(widths[3]!));
    cells.push(r[4]);
    return `  ${cells.join('  ')}`.trimEnd();
  };
  const MIN_LABEL = 8;
  // bytes and rate, then without bytes, then without either: the first that fits with a label of 8 or more
  const variants: Array<[bytes: boolean, rate: boolean]> = [
    [true, true],
    [false, true],
    [false, false],
  ];
  for (const [i, [bytes, rate]] of variants.entries()) {
    const full = Math.max(0, ...rows.map((r) => line(r, widths[0]!, bytes, rate).length));
    const labelWidth = full > width ? Math.max(MIN_LABEL, widths[0]! - (full - width)) : widths[0]!;
    const fits = labelWidth === widths[0]! || full - (widths[0]! - labelWidth) <= width;
    if (fits || i === variants.length - 1) return rows.map((r) => line(r, labelWidth, bytes, rate));
  }
  return [];
}

export class Progress {
  readonly enabled: boolean;
  readonly now: () => number;
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly unit: string;
  private readonly intervalMs: number;
  private readonly maxLines: number;
  private readonly tasks: Task[] = [];
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private completed = 0;
  private header = '';

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.enabled = options.enabled ?? this.stream.isTTY === true;
    this.unit = options.unit ?? 'entities';
    this.intervalMs = options.intervalMs ?? 200;
    this.maxLines = options.maxLines ?? 8;
    this.now = options.now ?? Date.now;
  }

  task(label: string, total?: number): ProgressTask {
    const t = new Task(label, total, this);
    this.tasks.push(t);
    this.schedule();
    return t;
  }

  /** A line shown above the tasks, e.g. "dump 20261122: 3/40 kinds". */
  setHeader(text: string): void {
    this.header = text;
    this.schedule();
  }

  /** Prints a line above the live area (only when enabled: a terminal is watching). */
  /** A line the user must see even without a progress display (warnings): always written. */
  warn(line: string): void {
    if (this.enabled) this.clear();
    this.stream.write(`${line}\n`);
    if (this.enabled) this.schedule();
  }

  log(line: string): void {
    if (!this.enabled) return;
    this.clear();
    this.stream.write(`${line}\n`);
    this.schedule();
  }

  schedule(): void {
    if (!this.enabled || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, this.intervalMs);
    this.timer.unref();
  }

  finish(task: Task): void {
    const i = this.tasks.indexOf(task);
    if (i >= 0) this.tasks.splice(i, 1);
    this.completed++;
    this.schedule();
  }

  get completedTasks(): number {
    return this.completed;
  }

  /** The lines a render would draw now (for tests and non-ANSI consumers). */
  lines(): string[] {
    const now = this.now();
    // A pty without a size reports 0 columns.
    const width = Math.max(20, (this.stream.columns || 100) - 1);
    const out = this.header ? [this.header] : [];
    out.push(...layout(this.tasks.slice(0, this.maxLines).map((t) => t.fields(now)), this.unit, width));
    if (this.tasks.length > this.maxLines) out.push(`  … and ${this.tasks.length - this.maxLines} more`);
    return out.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
  }

  private clear(): void {
    // Up to the first line we drew, then erase to the end of the screen.
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}F\x1b[0J`);
    this.drawn = 0;
  }

  render(): void {
    if (!this.enabled) return;
    const lines = this.lines();
    this.clear();
    if (lines.length > 0) this.stream.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  /** Removes the live area; call before printing the final summary. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.enabled) this.clear();
  }
}

export function createProgress(options: ProgressOptions = {}): Progress {
  return new Progress(options);
}
