/**
 * One error family for dspipe. Every failure a user can meet carries a stable
 * string code, the context that locates it (kind, key, file, line, property
 * path) and, where we know it, what to do about it. The CLI prints these
 * without a stack; library users can switch on `code`.
 */
export type DspipeErrorCode =
  | 'DSPIPE_INVALID_OPTION'
  | 'DSPIPE_CORRUPT_DUMP'
  | 'DSPIPE_INVALID_LINE'
  | 'DSPIPE_ENTITY_TOO_LARGE'
  | 'DSPIPE_REJECTED_ENTITY'
  | 'DSPIPE_DUMP_EXISTS'
  | 'DSPIPE_DUMP_LOCKED'
  | 'DSPIPE_NOT_FOUND'
  | 'DSPIPE_RPC_FAILED'
  /** No usable Google Cloud credentials for a production project. */
  | 'DSPIPE_CREDENTIALS'
  /** The emulator host refuses connections, does not answer, or does not exist. */
  | 'DSPIPE_UNREACHABLE'
  /** ReserveIds refused an id: the entity is still written, but Datastore may allocate its id again. */
  | 'DSPIPE_ID_NOT_RESERVED'
  | 'DSPIPE_CONFIRMATION_REQUIRED'
  | 'DSPIPE_MIGRATION_FAILED'
  | 'DSPIPE_MIGRATION_CHANGED'
  | 'DSPIPE_IO'
  /** Neither Node's built-in zstd nor zstd-napi's native addon is there. */
  | 'DSPIPE_NO_ZSTD';

export interface DspipeErrorContext {
  kind?: string;
  namespace?: string;
  key?: string;
  file?: string;
  line?: number;
  /** Property path inside an entity, e.g. `address.street[2]`. */
  path?: string;
  /** One sentence telling the user what to do next. */
  hint?: string;
  cause?: unknown;
}

export class DspipeError extends Error {
  readonly code: DspipeErrorCode;
  readonly kind?: string;
  readonly namespace?: string;
  readonly key?: string;
  readonly file?: string;
  readonly line?: number;
  readonly path?: string;
  readonly hint?: string;

  constructor(code: DspipeErrorCode, message: string, context: DspipeErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'DspipeError';
    this.code = code;
    const { cause: _cause, ...where } = context;
    Object.assign(this, where);
  }

  /** The message with its location and hint, as the CLI prints it. */
  describe(): string {
    const where: string[] = [];
    if (this.file !== undefined) where.push(this.line !== undefined ? `${this.file}:${this.line}` : this.file);
    if (this.namespace !== undefined && this.namespace !== '') where.push(`namespace ${JSON.stringify(this.namespace)}`);
    if (this.kind !== undefined) where.push(`kind ${JSON.stringify(this.kind)}`);
    if (this.key !== undefined) where.push(`key ${this.key}`);
    if (this.path !== undefined) where.push(`property ${this.path}`);
    let text = where.length > 0 ? `${where.join(', ')}: ${this.message}` : this.message;
    if (this.hint !== undefined) text += `\n  hint: ${this.hint}`;
    return text;
  }
}

export function isDspipeError(err: unknown, code?: DspipeErrorCode): err is DspipeError {
  return err instanceof DspipeError && (code === undefined || err.code === code);
}
