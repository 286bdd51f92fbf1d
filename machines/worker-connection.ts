// One connected worker: hello, then asks for a job of a platform, runs it, and leaves (the original worker) or asks
// again on the same connection (ours, which sends its next JobRequested with its JobFinished).
// handshake → idle → waiting (for a job of its platform) → busy → finished (→ waiting ...); closed from anywhere.
import { assign, setup } from 'xstate';
import type { Transition } from './job-run.ts';

export interface WorkerConnectionContext {
  id: string;
  remote: string;
  connectedAt: number;
  platform?: string;
  uuid?: string;
  jobsDone: number;
  closeReason?: string;
  transitions: Transition[];
}

export interface WorkerConnectionInput {
  id: string;
  remote: string;
  connectedAt: number;
}

export type WorkerConnectionEvent =
  | { type: 'HELLO'; at: number }
  | { type: 'REQUEST'; platform: string; at: number }
  | { type: 'ASSIGN'; uuid: string; at: number }
  /** the run's end is recorded (uuid: the run's) */
  | { type: 'FINISHED'; uuid: string; at: number }
  | { type: 'CLOSE'; at: number; reason: string };

const MAX_TRANSITIONS = 32;

function record(context: WorkerConnectionContext, state: string, at: number, note?: string): Transition[] {
  const next = [...context.transitions, note === undefined ? { state, at } : { state, at, note }];
  return next.length > MAX_TRANSITIONS ? next.slice(next.length - MAX_TRANSITIONS) : next;
}

export const workerConnectionMachine = setup({
  types: {
    context: {} as WorkerConnectionContext,
    events: {} as WorkerConnectionEvent,
    input: {} as WorkerConnectionInput,
  },
  actions: {
    /** A job asked for (first, or again on the same connection): no run of its own until one is assigned. */
    asked: assign(({ context, event }) =>
      event.type === 'REQUEST' ? { platform: event.platform, uuid: undefined, transitions: record(context, 'waiting', event.at, event.platform) } : {},
    ),
    /** One more run's end recorded. */
    counted: assign(({ context }) => ({ jobsDone: context.jobsDone + 1 })),
  },
}).createMachine({
  id: 'worker-connection',
  initial: 'handshake',
  context: ({ input }) => ({
    ...input,
    jobsDone: 0,
    transitions: [{ state: 'handshake', at: input.connectedAt }],
  }),
  states: {
    handshake: {
      on: {
        HELLO: {
          target: 'idle',
          actions: assign(({ context, event }) => ({ transitions: record(context, 'idle', event.at) })),
        },
      },
    },
    idle: {
      on: {
        REQUEST: { target: 'waiting', actions: 'asked' },
      },
    },
    waiting: {
      on: {
        // the end of the last job, recorded after the worker asked for its next
        FINISHED: { actions: 'counted' },
        ASSIGN: {
          target: 'busy',
          actions: assign(({ context, event }) => ({
            uuid: event.uuid,
            transitions: record(context, 'busy', event.at, event.uuid),
          })),
        },
      },
    },
    busy: {
      on: {
        FINISHED: [
          {
            guard: ({ context, event }) => event.uuid === context.uuid,
            target: 'finished',
            actions: assign(({ context, event }) => ({
              jobsDone: context.jobsDone + 1,
              transitions: record(context, 'finished', event.at, context.uuid),
            })),
          },
          // the end of the job before this one, recorded after the worker was given this one
          { actions: 'counted' },
        ],
        // the next job asked for on the same connection before this one's end was recorded
        REQUEST: { target: 'waiting', actions: 'asked' },
      },
    },
    finished: {
      on: {
        REQUEST: { target: 'waiting', actions: 'asked' },
      },
    },
    closed: { type: 'final' },
  },
  on: {
    CLOSE: {
      target: '.closed',
      actions: assign(({ context, event }) => ({
        closeReason: event.reason,
        transitions: record(context, 'closed', event.at, event.reason),
      })),
    },
  },
});

export type WorkerConnectionState = 'handshake' | 'idle' | 'waiting' | 'busy' | 'finished' | 'closed';
