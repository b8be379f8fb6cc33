/**
 * --write-indexes FILE: keeps an index.yaml holding every composite index the
 * queries that ran needed, as the App Engine dev server's auto-generation did,
 * so a team can commit it. Indexes the file already held are kept, new ones
 * are appended in the order queries first needed them, and each change is
 * written to a temp file and renamed, so the file is never half-written.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { formatIndexYaml, indexIdentity, parseIndexYaml, type IndexDefinition } from '../format/index-yaml.js';

const HEADER = 'Composite indexes the queries run against dspipe emulator needed (--write-indexes).\nDeploy with: dspipe indexes create index.yaml --wait';

export class IndexFileWriter {
  private readonly indexes: IndexDefinition[];
  private readonly seen = new Set<string>();

  constructor(readonly file: string) {
    this.indexes = existsSync(file) ? parseIndexYaml(readFileSync(file, 'utf8'), file) : [];
    for (const i of this.indexes) this.seen.add(indexIdentity(i));
  }

  /** Records one needed index; writes the file when it is new. */
  add(index: IndexDefinition): void {
    const id = indexIdentity(index);
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.indexes.push(index);
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, formatIndexYaml(this.indexes, HEADER));
    renameSync(temp, this.file);
  }
}
