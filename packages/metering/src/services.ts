import type { Pool } from '@tally/postgres';
import type { ClickHouseClient } from '@tally/clickhouse';
import type { Logger } from '@tally/runtime';
import type { MeteringDirectory } from './directory.ts';
import { Rebuilder } from './rebuild.ts';
import { BalanceService } from './balance-service.ts';
import { CoalescingProducer, type EventProducer } from '@tally/kafka';
import { IngestService } from './ingest.ts';
import { CheckService } from './check-service.ts';
import type { RedisClient } from '@tally/redis';
import { RedisLedgerStore } from './ledger/ledger-store.ts';
import { StrictOutbox } from './strict-outbox.ts';
import { DeductService, type DeductDeps } from './pipeline/deduct-service.ts';
import { ClickHouseStoredEventIds } from './pipeline/stored-event-ids.ts';
import { DeadLetterRepo } from './dead-letters/dead-letter-repo.ts';
import { DeadLetterService, type DeadLetterServiceDeps } from './dead-letters/dead-letter-service.ts';
import { ClickHouseRowInserter } from './dead-letters/row-inserter.ts';
import type { BalanceEvents } from './balance-events.ts';

export interface MeteringDeps {
  redis: RedisClient;
  pool: Pool;
  clickhouse: ClickHouseClient;
  /** @tally/catalog's services: `{ snapshot: (t) => catalog.snapshot(t), context: (t, c) => customers.context(t, c) }` */
  directory: MeteringDirectory;
  logger: Logger;
  clickhouseDatabase: string;
  /** The process's one balance-changed signal (built by its composition root). */
  events: BalanceEvents;
}

/** The balance side of metering, for any process (API, workers, billing). */
export function createBalanceServices(deps: MeteringDeps): { rebuilder: Rebuilder; balances: BalanceService } {
  const rebuilder = new Rebuilder(deps, deps.clickhouseDatabase);
  return { rebuilder, balances: new BalanceService(new RedisLedgerStore(deps.redis), deps.directory, rebuilder, deps.events) };
}

export interface MeteringApiDeps extends MeteringDeps {
  producer: EventProducer;
  topic: string;
  /** Tenant × customer pairs ingest remembers as existing (default KNOWN_CUSTOMERS_MAX). */
  knownCustomersMax?: number;
  /** The process's Rebuilder (createBalanceServices' one), so a process builds one; a new one when omitted. */
  rebuilder?: Rebuilder;
}

export interface MeteringApi {
  ingest: IngestService;
  checks: CheckService;
  /** Disconnects the usage producer (a no-op twice). */
  close(): Promise<void>;
}

/** What the API needs for /v1/track and /v1/check. Concurrent produce calls share Kafka requests. */
export function createMeteringApi(deps: MeteringApiDeps): MeteringApi {
  const rebuilder = deps.rebuilder ?? new Rebuilder(deps, deps.clickhouseDatabase);
  const producer = new CoalescingProducer(deps.producer);
  const common = { redis: deps.redis, rebuilder, directory: deps.directory, producer, topic: deps.topic, logger: deps.logger };
  const checks = new CheckService({ ...common, events: deps.events, ledger: new RedisLedgerStore(deps.redis), outbox: new StrictOutbox(deps.redis) });
  return { ingest: new IngestService(common, deps.knownCustomersMax), checks, close: () => producer.disconnect() };
}

/** The deduct processor's service (workers), its stores built over the process's clients. */
export function createDeductService(deps: Omit<DeductDeps, 'ledger' | 'storedIds'> & { redis: RedisClient; clickhouse: ClickHouseClient }): DeductService {
  const { redis, clickhouse, ...rest } = deps;
  return new DeductService({ ...rest, ledger: new RedisLedgerStore(redis), storedIds: new ClickHouseStoredEventIds(clickhouse) });
}

/** GET /v1/dead-letters and their replay: usage_dead_letters in Postgres, rows inserted again into ClickHouse. */
export function createDeadLetterService(deps: { pool: Pool; clickhouse: ClickHouseClient; clickhouseDatabase: string; events?: DeadLetterServiceDeps['events'] }): DeadLetterService {
  return new DeadLetterService({
    letters: new DeadLetterRepo(deps.pool),
    rows: new ClickHouseRowInserter(deps.clickhouse, deps.clickhouseDatabase),
    ...(deps.events ? { events: deps.events } : {}),
  });
}
