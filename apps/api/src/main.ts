import { ConfigError, Shutdown } from '@tally/runtime';
import { createApp } from './app.ts';
import { loadApiConfig } from './config.ts';
import { createApiContext } from './context.ts';
import { endBalanceStreams } from './dashboard/balance-stream.ts';

async function main(): Promise<void> {
  const config = loadApiConfig();
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
