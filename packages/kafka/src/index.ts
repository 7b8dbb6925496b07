export * from './port.ts';
export * from './kafkajs.ts';
