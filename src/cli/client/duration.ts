// Durations as the original client prints observe lines: a port of the OCaml `duration` library's
// Duration.pp (two units above a minute, three decimals below), on nanoseconds as bigint.
import { ppDuration } from '../../protocol/pretty.ts';

export function formatDuration(ns: bigint): string {
  return ppDuration(ns < 0n ? 0n : ns);
}
