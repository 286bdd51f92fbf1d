// The only script of the pages: the live console (server-sent events, and the end of the run) and the hash search box.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  for (const form of document.querySelectorAll('form.search')) {
    form.addEventListener('submit', () => {
      const input = form.querySelector('input[name=sha256]');
      input.value = input.value.trim().toLowerCase();
    });
  }
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
    });
  }
});
