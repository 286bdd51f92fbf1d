// One job run: from the queue to a worker and back with a result.
// waiting → assigned → running → uploading → done | timeout | failed; requeue goes back to waiting.
// Times come in the events (the supervisor's injectable clock): the machine has no timers of its own,
// because XState does not re-arm `after` timers when a snapshot is restored. The absolute deadline lives
// in the context and the supervisor re-arms it on start.
import { assign, setup } from 'xstate';

export interface Transition {
  state: string;
  at: number;
  note?: string;
}

export interface JobRunContext {
  uuid: string;
  jobName: string;
  platform: string;
  queuedAt: number;
  attempts: number;
  workerId?: string;
  assignedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  deadline?: number;
  timeoutMs: number;
  result?: string;
  transitions: Transition[];
}

export interface JobRunInput {
  uuid: string;
  jobName: string;
  platform: string;
  queuedAt: number;
  timeoutMs: number;
}

export type JobRunEvent =
  | { type: 'ASSIGN'; workerId: string; at: number }
  | { type: 'START'; at: number }
  | { type: 'FINISH'; at: number; result: string }
  | { type: 'STORED'; at: number }
  | { type: 'FAIL'; at: number; reason: string }
  | { type: 'TIMEOUT'; at: number }
  | { type: 'REQUEUE'; at: number; reason: string };

const MAX_TRANSITIONS = 64;

function record(context: JobRunContext, state: string, at: number, note?: string): Transition[] {
  const next = [...context.transitions, note === undefined ? { state, at } : { state, at, note }];
  return next.length > MAX_TRANSITIONS ? next.slice(next.length - MAX_TRANSITIONS) : next;
}

export const jobRunMachine = setup({
  types: {
    context: {} as JobRunContext,
    events: {} as JobRunEvent,
    input: {} as JobRunInput,
  },
}).createMachine({
  id: 'job-run',
  initial: 'waiting',
  context: ({ input }) => ({
    ...input,
    attempts: 0,
    transitions: [{ state: 'waiting', at: input.queuedAt }],
  }),
  states: {
    waiting: {
      on: {
        ASSIGN: {
          target: 'assigned',
          actions: assign(({ context, event }) => ({
            workerId: event.workerId,
            assignedAt: event.at,
            deadline: event.at + context.timeoutMs,
            attempts: context.attempts + 1,
            transitions: record(context, 'assigned', event.at, event.workerId),
          })),
        },
        FAIL: {
          target: 'failed',
          actions: assign(({ context, event }) => ({
            result: event.reason,
            finishedAt: event.at,
            transitions: record(context, 'failed', event.at, event.reason),
          })),
        },
      },
    },
    assigned: {
      on: {
        START: {
          target: 'running',
          actions: assign(({ context, event }) => ({
            startedAt: event.at,
            transitions: record(context, 'running', event.at),
          })),
        },
      },
    },
    running: {
      on: {
        FINISH: {
          target: 'uploading',
          actions: assign(({ context, event }) => ({
            result: event.result,
            finishedAt: event.at,
            transitions: record(context, 'uploading', event.at, event.result),
          })),
        },
      },
    },
    uploading: {
      on: {
        STORED: {
          target: 'done',
          actions: assign(({ context, event }) => ({ transitions: record(context, 'done', event.at) })),
        },
      },
    },
    done: { type: 'final' },
    timeout: { type: 'final' },
    failed: { type: 'final' },
  },
  on: {
    // Valid in assigned, running and uploading; ignored in waiting and the final states.
    TIMEOUT: {
      guard: ({ context }) => context.assignedAt !== undefined,
      target: '.timeout',
      actions: assign(({ context, event }) => ({
        result: 'execution aborted: timeout',
        finishedAt: event.at,
        transitions: record(context, 'timeout', event.at),
      })),
    },
    REQUEUE: {
      target: '.waiting',
      actions: assign(({ context, event }) => ({
        workerId: undefined,
        assignedAt: undefined,
        startedAt: undefined,
        deadline: undefined,
        queuedAt: event.at,
        transitions: record(context, 'waiting', event.at, event.reason),
      })),
    },
    FAIL: {
      target: '.failed',
      actions: assign(({ context, event }) => ({
        result: event.reason,
        finishedAt: event.at,
        transitions: record(context, 'failed', event.at, event.reason),
      })),
    },
  },
});

export type JobRunState = 'waiting' | 'assigned' | 'running' | 'uploading' | 'done' | 'timeout' | 'failed';
