export { runSimulation, type RunOptions, type RunResult } from './runner.ts';
export { Stack } from './stack.ts';
export { parseFaults, type Fault } from './faults.ts';
