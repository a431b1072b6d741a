// One job's card, filled with textContent only: the dashboard's (cloned from <template id="job-card">)
// and the <job-progress> element's (its own children) are drawn by the same code.

import { formatAmount, formatPercent } from "./amounts.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled", "interrupted"]);
const STATE_RANK = { queued: 0, running: 1 };
const STATE_LABELS = {
  queued: "Queued", running: "Running", succeeded: "Succeeded",
  failed: "Failed", cancelled: "Cancelled", interrupted: "Interrupted",
};

export const isTerminal = (state) => TERMINAL.has(state);

/** True when `next` may replace `known`: a later attempt wins; within one, states only move
 * forward and `done` never decreases. */
export function isNewer(next, known) {
  if ((next.attempt ?? 1) !== (known.attempt ?? 1)) return (next.attempt ?? 1) > (known.attempt ?? 1);
  const rank = (job) => STATE_RANK[job.state] ?? 2;
  if (rank(next) !== rank(known)) return rank(next) > rank(known);
  if (isTerminal(known.state)) return false; // a terminal job never changes again
  return next.progress.done >= known.progress.done;
}

/** A new card for one job id, cloned from a page's template, its kind a link to the job's page. */
export function createCard(template, jobId) {
  const card = cardOf(template.content.firstElementChild.cloneNode(true), jobId);
  card.link.href = `/jobs/${encodeURIComponent(jobId)}`;
  return card;
}

/** The card whose parts (`.job-kind`, `.job-state`, the progressbar, ...) `root` holds; `updateCard`
 * fills them. The `.job-kind` takes the focus when Cancel goes: a link, or anything with tabindex. */
export function cardOf(root, jobId) {
  const find = (selector) => root.querySelector(selector);
  root.dataset.jobId = jobId;
  return {
    root,
    job: null,
    link: find(".job-kind"),
    state: find(".job-state"),
    bar: find('[role="progressbar"]'),
    fill: find(".job-bar-fill"),
    percent: find(".job-percent"),
    message: find(".job-message"),
    params: find(".job-params"),
    elapsed: find(".job-elapsed"),
    eta: find(".job-eta"),
    error: find(".job-error"),
    attempt: find(".job-attempt"),
    limit: find(".job-limit"),
    cancel: find('[data-action="cancel"]'),
    result: find(".job-result"),
  };
}

/** Show `job` on its card; cheap enough to run for every event of the frame. `unit` is its
 * kind's `progress_unit` (GET /api/kinds): null for a count of things, or "bytes". */
export function updateCard(card, job, unit = null) {
  card.job = job;
  card.root.dataset.state = job.state;
  card.link.textContent = job.kind;
  card.state.textContent = stateLabel(job);
  if (job.failed_items) card.root.dataset.outcome = "partial"; // the warning colour, never plain green
  showProgress(card, job.progress, unit);
  card.params.textContent = formatParams(job.params);
  card.error.textContent = job.error ?? "";
  card.error.hidden = !job.error;
  showAttempt(card, job);
  card.limit.textContent = job.timeout_s ? `Time limit ${formatDuration(job.timeout_s * 1000)}` : "";
  if (job.result) {
    card.result.href = job.result.url;
    card.result.textContent = "Download result";
    card.result.title = job.result.filename ?? "";
    card.result.hidden = false;
  }
  if (isTerminal(job.state) && card.cancel) {
    if (document.activeElement === card.cancel) card.link.focus(); // a keyboard user stays on the card
    card.cancel.remove();
    card.cancel = null;
  }
  tickCard(card, Date.now());
}

/** "Succeeded, 2 of 40 failed" for a batch whose items partly failed. */
function stateLabel(job) {
  const label = STATE_LABELS[job.state] ?? job.state;
  if (!job.failed_items) return label;
  return `${label}, ${formatAmount(job.failed_items.failed)} of ${formatAmount(job.failed_items.of)} failed`;
}

/** "Attempt 2 of 3" with the error that ended the attempt before, once a job was retried. */
function showAttempt(card, job) {
  const retried = (job.retry_errors ?? []).length > 0;
  card.attempt.hidden = !retried;
  card.root.classList.toggle("job-retried", retried);
  if (!retried) return;
  const last = job.retry_errors[job.retry_errors.length - 1];
  card.attempt.textContent = `Attempt ${job.attempt} of ${job.max_attempts} · the last one failed: ${last}`;
}

function showProgress(card, progress, unit) {
  const { percent, done, total, message } = progress;
  card.bar.setAttribute("aria-label", `Progress of the ${card.job.kind} job`);
  if (percent === null) {
    const doneText = `${formatAmount(done, unit)} done`;
    card.bar.removeAttribute("aria-valuenow"); // unknown total: an indeterminate bar
    card.bar.setAttribute("aria-valuetext", done ? doneText : "Not started");
    card.fill.style.removeProperty("transform");
    card.percent.textContent = done ? doneText : "";
  } else {
    card.bar.setAttribute("aria-valuenow", String(percent));
    card.bar.setAttribute("aria-valuetext", formatPercent(percent));
    card.fill.style.transform = `scaleX(${percent / 100})`;
    card.percent.textContent = `${formatPercent(percent)} · ${formatAmount(done, unit)} of ${formatAmount(total, unit)}`;
  }
  card.message.textContent = message ?? "";
}

/** Refresh the clocks: elapsed time and the estimate of the time left. */
export function tickCard(card, now) {
  const job = card.job;
  const started = Date.parse(job.started_at);
  const finished = Date.parse(job.finished_at);
  const runAt = Date.parse(job.run_at);
  if (job.state === "queued" && runAt > now) {
    card.elapsed.textContent = `Starts in ${formatDuration(runAt - now)}`;
  } else if (job.state === "queued") {
    card.elapsed.textContent = `Waiting ${formatDuration(now - Date.parse(job.created_at))}`;
  } else if (Number.isFinite(started)) {
    const end = Number.isFinite(finished) ? finished : now;
    card.elapsed.textContent = `${isTerminal(job.state) ? "Took" : "Elapsed"} ${formatDuration(end - started)}`;
  } else {
    card.elapsed.textContent = "Never started";
  }
  card.eta.textContent = job.state === "running" ? estimateLeft(job.progress, now - started) : "";
}

function estimateLeft({ done, total }, elapsedMs) {
  if (total === null || done === 0 || !(elapsedMs > 0)) return "";
  return `About ${formatDuration((elapsedMs * (total - done)) / done)} left`;
}

export function formatDuration(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

function formatParams(params) {
  return Object.entries(params)
    .map(([name, value]) => `${name}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" · ");
}

/** Cancel buttons of every card under `container` (itself a card, or holding cards), by event
 * delegation; `apiRoot` is where the API is (`/api`, or `/progress/api` in a host app). A pending
 * button is `aria-disabled`, not `disabled`: a disabled button loses focus to the page body, which
 * sends a keyboard user back to the top; when the job ends the card moves focus to its link. */
export function handleCancelClicks(container, apiRoot = "/api") {
  container.addEventListener("click", async (event) => {
    const button = event.target.closest('button[data-action="cancel"]');
    if (!button || button.getAttribute("aria-disabled") === "true") return;
    const jobId = button.closest("[data-job-id]").dataset.jobId;
    button.setAttribute("aria-disabled", "true");
    button.textContent = "Cancelling…";
    const response = await fetch(`${apiRoot}/jobs/${encodeURIComponent(jobId)}/cancel`, { method: "POST" })
      .catch(() => null);
    if (response && (response.ok || response.status === 409)) return; // the stream shows the outcome
    button.removeAttribute("aria-disabled");
    button.textContent = "Cancel";
    button.title = response ? `Could not cancel (HTTP ${response.status}); try again.` : "The server is unreachable; try again.";
  });
}
