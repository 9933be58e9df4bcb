// The report page of a running import: polls /imports/<id>/progress every second, shows the phase
// and the rows read (of about how many), and reloads the page for the report when it is done.
(function () {
  const box = document.getElementById('import-progress');
  if (!box) return;
  const url = box.dataset.url;
  const bar = box.querySelector('progress');
  const phase = document.getElementById('progress-phase');
  const rows = document.getElementById('progress-rows');
  const names = JSON.parse(box.dataset.phases);
  const fmt = new Intl.NumberFormat(document.documentElement.lang || undefined);
  async function poll() {
    try {
      const r = await fetch(url, { headers: { Accept: 'application/json' } });
      if (r.ok) {
        const p = await r.json();
        if (p.status !== 'running') { window.location.reload(); return; }
        phase.textContent = names[p.phase] || p.phase || '';
        rows.textContent = p.rows_estimated
          ? box.dataset.ofTemplate.replace('{n}', fmt.format(p.rows_read)).replace('{total}', fmt.format(p.rows_estimated))
          : fmt.format(p.rows_read);
        if (p.rows_estimated) { bar.max = p.rows_estimated; bar.value = Math.min(p.rows_read, p.rows_estimated); }
        box.dataset.phase = p.phase || '';
      }
    } catch (e) { /* the next poll tries again */ }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
