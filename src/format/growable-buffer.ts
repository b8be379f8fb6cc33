/**
 * A byte buffer that doubles when it runs out: the base of the hand-written
 * encoders (the emulator's protobuf responses and cursors, the managed-export
 * codec's ProtoWriter), which write far faster into one preallocated buffer
 * than by concatenating chunks.
 */
export class GrowableBuffer {
  buf: Buffer;
  pos = 0;

  constructor(initialSize: number) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Makes room for `n` more bytes at `pos`. */
  protected ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}
