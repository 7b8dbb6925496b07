export * from './client.ts';
export * from './sql.ts';
export * from './migrate.ts';
export * from './writer.ts';
export * from './insert-errors.ts';
export * from './insert.ts';
export * from './rows.ts';
export * from './query.ts';
