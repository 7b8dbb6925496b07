import { describe, expect, it } from 'vitest';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { memoizedDefaultPartitioner } from './kafkajs.ts';

const partitions = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], offlineReplicas: [], partitionErrorCode: 0 }));

describe('memoizedDefaultPartitioner', () => {
  it('picks the same partition as kafkajs default partitioner, first and repeated calls', () => {
    const ours = memoizedDefaultPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const n of [6, 7, 1]) {
      const partitionMetadata = partitions(n);
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 500; i++) {
          const message = { key: `tenant-${i % 7}:customer-${i}`, value: 'v' };
          expect(ours({ topic: 't', partitionMetadata, message })).toBe(theirs({ topic: 't', partitionMetadata, message }));
        }
      }
    }
  });

  it('keeps an explicit partition', () => {
    const ours = memoizedDefaultPartitioner();
    expect(ours({ topic: 't', partitionMetadata: partitions(6), message: { key: 'k', value: 'v', partition: 4 } })).toBe(4);
  });
});
