/** A Value as proto-loader decodes it (oneofs: true names the variant). */
import type { IValue } from '../datastore/proto.js';

export type Value = IValue & { valueType?: string };
