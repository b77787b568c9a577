// Writes a Table as a Parquet file: the date column as a millisecond timestamp, every numeric
// column as float64. apache-arrow builds the columns, parquet-wasm encodes them (both loaded on
// first use, like the reader in table.ts); the file is written atomically.
import { writeFileAtomic } from '../fs/atomic.js';
import type { Table } from './table.js';

/** The Parquet bytes of `table` (snappy-free, uncompressed columns are fine for the sizes here). */
export async function tableToParquet(table: Table): Promise<Uint8Array> {
  const [arrow, pq] = await Promise.all([import('apache-arrow'), import('parquet-wasm')]);
  const columns: Record<string, import('apache-arrow').Vector> = {};
  if (table.dateColumn !== null && table.dates !== null) {
    columns[table.dateColumn] = arrow.vectorFromArray(
      Array.from(table.dates, (d) => d),
      new arrow.TimestampMillisecond(),
    );
  }
  for (const c of table.columns) columns[c] = arrow.makeVector(table.data[c]!);
  const ipc = arrow.tableToIPC(new arrow.Table(columns), 'stream');
  const wasmTable = pq.Table.fromIPCStream(ipc);
  return pq.writeParquet(wasmTable);
}

/** Writes `table` to `path` as Parquet, atomically. */
export async function writeParquetTable(path: string, table: Table): Promise<void> {
  writeFileAtomic(path, await tableToParquet(table));
}
