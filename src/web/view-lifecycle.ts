// A job run's lifecycle drawn as an SVG bar of states, each as wide as the time spent in it. Every
// state gets at least a minimum width and the widths are scaled to fill the bar exactly: short steps
// never overlap, the last one ends at the bar's end.
import { duration, h, time, type Html } from './html.ts';
import type { LifecycleStep } from './live-state.ts';

/** The final states of the job-run machine: the run is over, its bar stops at the last step. */
export const FINAL_STATES = new Set(['done', 'timeout', 'failed']);

export interface Span extends LifecycleStep {
  until: number;
  /** position and width in percent of the bar */
  x: number;
  w: number;
}

/** `end`: when the last state ends (now for a live run, its own time for a final state). */
export function lifecycleLayout(steps: LifecycleStep[], end: number, minPercent = 2): Span[] {
  if (steps.length === 0) return [];
  const lastStep = steps[steps.length - 1]!;
  const last = FINAL_STATES.has(lastStep.state) ? lastStep.at : Math.max(end, lastStep.at);
  const raw = steps.map((s, i) => {
    const until = i + 1 < steps.length ? steps[i + 1]!.at : last;
    return { ...s, until, d: Math.max(0, until - s.at) };
  });
  // a final state is an instant: it gets the minimum width only
  const total = raw.reduce((a, s) => a + s.d, 0);
  const min = Math.min(minPercent, 100 / raw.length);
  const share = raw.map((s) => (total > 0 ? (s.d / total) * 100 : 100 / raw.length));
  // raise the small ones to the minimum, take it from the others in proportion
  const small = share.map((p) => p < min);
  const fixed = small.filter(Boolean).length * min;
  const restTotal = share.reduce((a, p, i) => a + (small[i] ? 0 : p), 0);
  const widths = share.map((p, i) => (small[i] ? min : restTotal > 0 ? (p / restTotal) * (100 - fixed) : (100 - fixed) / Math.max(1, raw.length - small.filter(Boolean).length)));
  let x = 0;
  return raw.map((s, i) => {
    const span = { state: s.state, at: s.at, until: s.until, x, w: widths[i]! };
    x += widths[i]!;
    return span;
  });
}

export function lifecycleSvg(steps: LifecycleStep[], end: number): Html {
  const spans = lifecycleLayout(steps, end);
  const colors = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#eeca3b'];
  return h`<div class="lifecycle"><svg viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="lifecycle">
${spans.map((s, i) => h`<rect x="${s.x.toFixed(3)}" y="0" width="${s.w.toFixed(3)}" height="6" fill="${colors[i % colors.length]}"><title>${s.state}</title></rect>`)}
</svg><ol class="states">${spans.map(
    (s, i) => h`<li><span class="swatch" style="background:${colors[i % colors.length]}"></span><strong>${s.state}</strong> ${time(s.at)} <span class="size">${duration(s.until - s.at)}</span></li>`,
  )}</ol></div>`;
}
