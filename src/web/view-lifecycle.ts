// A job run's lifecycle drawn as an SVG bar of states, each as wide as the time spent in it.
import { duration, h, time, type Html } from './html.ts';
import type { LifecycleStep } from './live-state.ts';

export function lifecycleSvg(steps: LifecycleStep[], end: number): Html {
  const first = steps[0]!.at;
  const last = Math.max(end, steps[steps.length - 1]!.at);
  const total = Math.max(1, last - first);
  const minW = 2;
  const spans = steps.map((s, i) => {
    const until = i + 1 < steps.length ? steps[i + 1]!.at : last;
    return { ...s, until, x: ((s.at - first) / total) * 100, w: Math.max(minW, ((until - s.at) / total) * 100) };
  });
  const colors = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#eeca3b'];
  return h`<div class="lifecycle"><svg viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="lifecycle">
${spans.map((s, i) => h`<rect x="${s.x.toFixed(3)}" y="0" width="${s.w.toFixed(3)}" height="6" fill="${colors[i % colors.length]}"><title>${s.state}</title></rect>`)}
</svg><ol class="states">${spans.map(
    (s, i) => h`<li><span class="swatch" style="background:${colors[i % colors.length]}"></span><strong>${s.state}</strong> ${time(s.at)} <span class="size">${duration(s.until - s.at)}</span></li>`,
  )}</ol></div>`;
}
