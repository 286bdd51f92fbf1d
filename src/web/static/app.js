// The only script of the pages: the live console (server-sent events, and the end of the run), the
// height of the visualizations' frames and the hash search box. Every page works without it.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  for (const form of document.querySelectorAll('form.search')) {
    form.addEventListener('submit', () => {
      const input = form.querySelector('input[name=sha256]');
      input.value = input.value.trim().toLowerCase();
    });
  }
  // the visualizations' frames (same origin) as tall as their page, so nothing is cut off at any width
  const frames = [...document.querySelectorAll('figure.viz iframe')];
  const fit = (frame) => {
    try {
      const doc = frame.contentDocument;
      if (!doc || !doc.body || doc.URL === 'about:blank') return;
      frame.style.height = Math.ceil(doc.body.getBoundingClientRect().height) + 2 + 'px';
    } catch {
      // another origin: keep the stylesheet's height
    }
  };
  for (const frame of frames) {
    frame.addEventListener('load', () => fit(frame));
    fit(frame);
  }
  if (frames.length) window.addEventListener('resize', () => frames.forEach(fit));
  // once the run has ended, the server's page has its final lifecycle (the bar up to its last
  // state) and the facts of the stored build: take those parts, retrying until the build is stored
  const refreshEnded = async (tries) => {
    let done = false;
    try {
      const r = await fetch(location.href, { headers: { Accept: 'text/html' } });
      const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
      const heading = doc.getElementById('live-heading');
      if (r.ok && heading && heading.dataset.build === undefined) {
        const stored = !!doc.querySelector('#stored a');
        done = stored || tries <= 1;
        // the facts (platform, start, result) once they come from the stored build; until then ours
        for (const id of stored ? ['facts', 'lifecycle'] : ['lifecycle']) {
          const fresh = doc.getElementById(id);
          const old = document.getElementById(id);
          if (fresh && old) old.replaceWith(document.importNode(fresh, true));
          else if (fresh && id === 'lifecycle') document.getElementById('facts')?.after(document.importNode(fresh, true));
        }
        if (stored) {
          document.getElementById('live-heading')?.replaceWith(document.importNode(heading, true));
          document.getElementById('stored')?.replaceWith(document.importNode(doc.getElementById('stored'), true));
        }
      }
    } catch {
      // the next try, or the page as it is
    }
    if (!done && tries > 1) setTimeout(() => refreshEnded(tries - 1), 500);
  };
  const pre = document.getElementById('console');
  if (pre && pre.dataset.stream) {
    const status = document.getElementById('status');
    const source = new EventSource(pre.dataset.stream);
    source.addEventListener('line', (ev) => {
      const { t, text } = JSON.parse(ev.data);
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      const line = document.createElement('span');
      line.className = 'line';
      line.textContent = t + ':' + text + '\n';
      pre.appendChild(line);
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    });
    source.addEventListener('end', (ev) => {
      if (status) status.textContent = 'finished: ' + JSON.parse(ev.data).result;
      // the heading says the run is over and links to the build it leaves in the store
      const heading = document.getElementById('live-heading');
      if (heading && heading.dataset.build && !document.getElementById('stored')) {
        const last = heading.lastChild;
        if (last && last.nodeType === Node.TEXT_NODE) last.textContent = ' finished';
        const p = document.createElement('p');
        p.id = 'stored';
        p.className = 'stored';
        const a = document.createElement('a');
        a.href = heading.dataset.build;
        a.textContent = 'the stored build';
        p.append('The run has ended: ', a, '.');
        heading.after(p);
      }
      pre.dataset.ended = '1';
      source.close();
      refreshEnded(20);
    });
  }
});
