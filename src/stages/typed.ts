/**
 * What an object-mode stage's readable side carries, for TypeScript: Node's
 * Readable types its chunks as `any`, so each stage declares its own (merged
 * into its class or interface) and `for await (const e of parser)` is typed.
 */
export interface ReadableOf<T> {
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
}
