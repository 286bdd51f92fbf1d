// The supervisor's own lifecycle. It owns the schedule and the queues (src/server/supervisor.ts holds
// the data and persists every change through the store); this machine says what phase it is in.
import { assign, setup } from 'xstate';
import type { Transition } from './job-run.ts';

export interface SupervisorContext {
  startedAt: number;
  recoveredRuns: number;
  transitions: Transition[];
}

export type SupervisorEvent =
  | { type: 'LOADED'; at: number }
  | { type: 'RECOVERED'; at: number; requeued: number }
  | { type: 'STOP'; at: number }
  | { type: 'STOPPED'; at: number };

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as { startedAt: number },
  },
}).createMachine({
  id: 'supervisor',
  initial: 'loading',
  context: ({ input }) => ({
    startedAt: input.startedAt,
    recoveredRuns: 0,
    transitions: [{ state: 'loading', at: input.startedAt }],
  }),
  states: {
    loading: {
      on: {
        LOADED: {
          target: 'recovering',
          actions: assign(({ context, event }) => ({
            transitions: [...context.transitions, { state: 'recovering', at: event.at }],
          })),
        },
      },
    },
    recovering: {
      on: {
        RECOVERED: {
          target: 'serving',
          actions: assign(({ context, event }) => ({
            recoveredRuns: event.requeued,
            transitions: [...context.transitions, { state: 'serving', at: event.at }],
          })),
        },
      },
    },
    serving: {
      on: {
        STOP: {
          target: 'stopping',
          actions: assign(({ context, event }) => ({
            transitions: [...context.transitions, { state: 'stopping', at: event.at }],
          })),
        },
      },
    },
    stopping: {
      on: {
        STOPPED: {
          target: 'stopped',
          actions: assign(({ context, event }) => ({
            transitions: [...context.transitions, { state: 'stopped', at: event.at }],
          })),
        },
      },
    },
    stopped: { type: 'final' },
  },
});
