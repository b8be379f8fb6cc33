/**
 * One large output allocation that zstd writes block after block into, each
 * block pushed downstream as a slice that is never written again. Shared by
 * the compressor and decompressor: a fresh Buffer per block (what zstd-napi's
 * streams do) cost them most of their gap to one-shot zstd.
 */
export class OutputSlab {
  private buf: Buffer | undefined;
  private pos = 0;

  /** `size` bytes per allocation; a new one starts when less than `minRoom` is left. */
  constructor(
    private readonly size: number,
    private readonly minRoom: number,
  ) {}

  /** Free space to write into: at least `minRoom` bytes. */
  room(): Buffer {
    if (this.buf === undefined || this.buf.length - this.pos < this.minRoom) {
      this.buf = Buffer.allocUnsafe(this.size);
      this.pos = 0;
    }
    return this.buf.subarray(this.pos);
  }

  /** Claims the first `n` bytes written into the last `room()`. */
  take(n: number): Buffer {
    const slice = this.buf!.subarray(this.pos, this.pos + n);
    this.pos += n;
    return slice;
  }

  /** Drops the allocation (already pushed slices stay valid). */
  release(): void {
    this.buf = undefined;
  }
}
