// The job journal: the latest jobs from the store, newest first.
import type { JobView } from '../backend/types';

export function renderJobs(body: HTMLElement, jobs: JobView[]): void {
  const rows = jobs.map((j) => {
    const tr = document.createElement('tr');
    tr.className = `job state-${j.state}`;
    tr.dataset.jobId = String(j.id);
    const duration = j.finishedAtMs === null ? '' : (j.finishedAtMs - j.queuedAtMs).toFixed(1);
    const cells = [
      String(j.id),
      j.command,
      j.drive ? `${j.drive.link}/${j.drive.id}` : 'all',
      j.state,
      j.reason ?? '',
      duration,
    ];
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (i === 3) td.className = 'job-state';
      tr.appendChild(td);
    });
    return tr;
  });
  body.replaceChildren(...rows);
}
