export * from './port.ts';
export * from './kafkajs.ts';
export * from './kafkajs-consumer.ts';
export * from './coalescing-producer.ts';
export * from './platformatic-producer.ts';
export * from './retriable.ts';
