// `/live` (schedule, queues, running jobs, workers) and `/live/:uuid` (a running job's console, streamed).
import { enc, h, page, time } from './html.ts';
import type { LifecycleStep, LiveRunning, LiveSnapshot } from './live-state.ts';
import { FINAL_STATES, lifecycleSvg } from './view-lifecycle.ts';
import type { Result } from '../protocol/types.ts';
import { resultText } from './build-record.ts';

export function livePage(s: LiveSnapshot | null): string {
  if (!s) return page('Live', h`<h1>Live</h1><p class="empty">This web server runs without a scheduler (builder web alone): no live state.</p>`);
  const schedule = s.schedule.map(
    (e) => h`<tr><td data-label="Job"><a href="/job/${enc(e.job)}">${e.job}</a></td><td data-label="Platform">${e.platform ?? 'any'}</td><td data-label="Trigger">${e.trigger}</td><td data-label="Next">${time(e.next)}</td></tr>`,
  );
  const queues = s.queues.map((q) => h`<li><strong>${q.platform}</strong>: ${q.jobs.length === 0 ? 'empty' : q.jobs.join(', ')}</li>`);
  const running = s.running.map(
    (r) => h`<tr><td data-label="Job"><a href="/live/${r.uuid}">${r.job}</a></td><td data-label="Platform">${r.platform}</td><td data-label="Started">${time(r.startedAt)}</td><td data-label="State">${r.state}</td></tr>`,
  );
  const workers = s.workers.map(
    (w) => h`<tr><td data-label="Worker">${w.id}</td><td data-label="Platform">${w.platform}</td><td data-label="Since">${time(w.connectedAt)}</td><td data-label="Running">${w.running ? h`<a href="/live/${w.running}">${w.running}</a>` : 'idle'}</td></tr>`,
  );
  return page(
    'Live',
    h`<h1>Live</h1>
<section><h2>Running (${s.running.length})</h2>${running.length ? h`<table class="cards"><thead><tr><th>Job</th><th>Platform</th><th>Started</th><th>State</th></tr></thead><tbody>${running}</tbody></table>` : h`<p class="empty">Nothing runs.</p>`}</section>
<section><h2>Queues</h2>${queues.length ? h`<ul>${queues}</ul>` : h`<p class="empty">No queue.</p>`}${s.dropped.length ? h`<p>Dropped platforms: ${s.dropped.join(', ')}</p>` : h``}</section>
<section><h2>Workers (${s.workers.length})</h2>${workers.length ? h`<table class="cards"><thead><tr><th>Worker</th><th>Platform</th><th>Since</th><th>Running</th></tr></thead><tbody>${workers}</tbody></table>` : h`<p class="empty">No worker connected.</p>`}</section>
<section><h2>Schedule</h2>${schedule.length ? h`<table class="cards"><thead><tr><th>Job</th><th>Platform</th><th>Trigger</th><th>Next</th></tr></thead><tbody>${schedule}</tbody></table>` : h`<p class="empty">Nothing scheduled.</p>`}</section>`,
  );
}

export interface LiveJobData {
  uuid: string;
  running: LiveRunning | null;
  lifecycle: LifecycleStep[] | null;
  /** the stored build, once the run has ended and its result landed in the web store */
  build: { job: string; uuid: string; result: Result; platform?: string; start?: number; finish?: number } | null;
}

export function liveJobPage({ uuid, running, lifecycle, build }: LiveJobData, now: number): string {
  const last = lifecycle?.[lifecycle.length - 1];
  const ended = build !== null || (last !== undefined && FINAL_STATES.has(last.state));
  const job = running?.job ?? build?.job;
  const buildHref = job ? `/job/${enc(job)}/build/${uuid}` : undefined;
  const heading = ended
    ? h`${job ? h`<a href="/job/${enc(job)}">${job}</a> ` : h`Job run `}finished${last ? h` (${last.state})` : h``}`
    : running
      ? h`<a href="/job/${enc(running.job)}">${running.job}</a> running`
      : h`Job run`;
  const status = ended ? (build ? `finished: ${resultText(build.result)}` : `finished: ${last!.state}`) : running ? running.state : 'not running';
  const title = ended ? `${job ?? 'Job run'} (finished)` : running ? `${running.job} (running)` : `Job run ${uuid}`;
  // what is known of the run: from the scheduler while it runs, from the stored build after
  const platform = running?.platform ?? build?.platform;
  const started = running?.startedAt ?? build?.start;
  const finished = ended ? (build?.finish ?? (last && FINAL_STATES.has(last.state) ? last.at : undefined)) : undefined;
  // a live run's bar lasts until now; a finished one's ends at its final state (or the build's end)
  const barEnd = ended ? (finished ?? now) : now;
  return page(
    title,
    h`<h1 id="live-heading"${!ended && buildHref ? h` data-build="${buildHref}"` : h``}>${heading}</h1>
${ended ? (build && buildHref ? h`<p class="stored" id="stored">The run has ended: <a href="${buildHref}">the stored build</a>.</p>` : h`<p class="stored" id="stored">The run has ended; its build is not in the web store (yet).</p>`) : h``}
<dl class="facts" id="facts"><dt>UUID</dt><dd><code>${uuid}</code></dd>${platform ? h`<dt>Platform</dt><dd>${platform}</dd>` : h``}${started !== undefined ? h`<dt>Started</dt><dd>${time(started)}</dd>` : h``}${finished !== undefined ? h`<dt>Finished</dt><dd>${time(finished)}</dd>` : h``}
<dt>Status</dt><dd id="status">${status}</dd></dl>
${lifecycle && lifecycle.length ? h`<section id="lifecycle"><h2>Lifecycle</h2>${lifecycleSvg(lifecycle, barEnd)}</section>` : h``}
<section><h2>Console</h2><pre id="console" class="console" data-stream="/live/${uuid}/events"></pre></section>`,
    { live: true },
  );
}
