import cluster from 'node:cluster';
import { ConfigError, Shutdown, createLogger } from '@tally/runtime';
import { createApp } from './app.ts';
import { answerPrimaryMetrics, apiProcessCount, runPrimary } from './cluster.ts';
import { loadApiConfig } from './config.ts';
import { createApiContext } from './context.ts';
import { endBalanceStreams } from './dashboard/balance-stream.ts';

async function main(): Promise<void> {
  const config = loadApiConfig(); // validated once in the primary too: a bad setting is one clear error, not N
  const processes = apiProcessCount(config.API_PROCESSES);
  if (processes > 1 && cluster.isPrimary) {
    runPrimary(processes, createLogger('tally-api', config.LOG_LEVEL));
    return;
  }
  answerPrimaryMetrics();
  const ctx = await createApiContext(config);
  const { app } = createApp(ctx);
  const server = app.listen(config.API_PORT, config.API_HOST, () => {
    ctx.logger.info({ url: config.publicUrl }, 'api listening');
  });
  server.keepAliveTimeout = 65_000;

  const shutdown = new Shutdown(ctx.logger);
  shutdown
    .add('stop accepting requests', () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      endBalanceStreams(); // open event streams would hold server.close forever
    }))
    .add('close connections', () => ctx.close());
  shutdown.listen();
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
  } else {
    console.error(err);
  }
  process.exit(1);
});
