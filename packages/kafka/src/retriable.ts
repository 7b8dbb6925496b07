/**
 * Runs `fn` again while it throws an error kafkajs marks retriable, for up to `withinMs`.
 * On several brokers a topic created moments ago may not be in the metadata of the broker
 * asked yet: subscribe and admin metadata calls then throw UNKNOWN_TOPIC_OR_PARTITION
 * (retriable) instead of retrying it themselves; a process start should wait, not fail.
 */
export async function whileRetriable<T>(fn: () => Promise<T>, withinMs = 30_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
    try {
      return await fn();
    } catch (err) {
      const retriable = (err as { retriable?: boolean } | null)?.retriable === true;
      if (!retriable || Date.now() + wait > deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
