// The pages' entry point: the dashboard (one stream for every job) or one job's page.

// The modules a host's <job-progress> element shares are the extension's, at /progress/static/.
import { formatDuration, handleCancelClicks, isTerminal } from "../progress/static/jobcard.js";
import { LiveStream } from "../progress/static/stream.js";
import { connectionIndicator } from "./connection.js";
import { KindForms } from "./forms.js";
import { JobList } from "./joblist.js";
import { getJson, stillSignedIn } from "./session.js";

const byId = (id) => document.getElementById(id);

function dashboard() {
  const jobs = new JobList({
    list: byId("jobs"),
    template: byId("job-card"),
    more: byId("jobs-more"),
    empty: byId("jobs-empty"),
    summary: byId("jobs-summary"),
    announcer: byId("announcer"),
  });
  handleCancelClicks(byId("jobs"));
  const forms = new KindForms(byId("kinds"), byId("kinds-status"), {
    onStarted: (job) => jobs.put(job),
    onKinds: (kinds) => jobs.setKinds(kinds),
  });
  const show = connectionIndicator(byId("connection"));
  let wasLive = false;
  // One EventSource for every job, however many: browsers allow six connections per origin.
  const stream = new LiveStream("/api/events", (type, data) => {
    if (type === "snapshot") jobs.replaceAll(data.jobs);
    else jobs.put(data);
  }, (status) => {
    show(status);
    if (status === "live" && wasLive) forms.load(); // back after a drop: the server may have restarted with other kinds
    wasLive ||= status === "live";
  }, stillSignedIn);
  stream.open();
  forms.load();
  showSchedules(byId("schedules"), byId("schedule-list"));
}

/** The periodic schedules and when each runs next, as text; read again once one is due. */
async function showSchedules(section, list) {
  const { schedules } = await getJson("/api/schedules").catch(() => ({ schedules: null }));
  if (!schedules) return;
  section.hidden = schedules.length === 0;
  list.replaceChildren(...schedules.map((schedule) => {
    const item = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = schedule.name;
    const cron = document.createElement("code");
    cron.textContent = schedule.cron;
    const next = document.createElement("span");
    next.className = "schedule-next";
    next.dataset.at = schedule.next_run_at;
    item.append(name, cron, next);
    return item;
  }));
  const tick = () => {
    const now = Date.now();
    let due = false;
    for (const next of list.querySelectorAll(".schedule-next")) {
      const left = Date.parse(next.dataset.at) - now;
      due ||= left < 0;
      next.textContent = left > 0 ? `next run in ${formatDuration(left)}` : "running now";
    }
    if (due) setTimeout(() => showSchedules(section, list), 1000);
    else setTimeout(tick, 1000);
  };
  tick();
}

function jobPage() {
  const list = byId("jobs");
  const jobs = new JobList({ list, template: byId("job-card"), announcer: byId("announcer") });
  handleCancelClicks(list);
  getJson("/api/kinds").then(({ kinds }) => jobs.setKinds(kinds), () => {}); // units only: counts show plain without
  const show = connectionIndicator(byId("connection"));
  const stream = new LiveStream(list.dataset.stream, (type, job) => {
    jobs.put(job);
    if (isTerminal(job.state)) stream.close(); // no reconnect to a stream that has ended
  }, (status) => {
    show(status);
    if (status === "offline") checkJob();
  }, stillSignedIn);

  // The stream failed for good (a 404 or 204): ask for the job itself.
  async function checkJob() {
    let job;
    try {
      job = await getJson(list.dataset.job);
    } catch (error) {
      if (error.status !== 404) return; // unreachable: the stream keeps retrying
      stream.close();
      byId("job-gone").hidden = false;
      return;
    }
    jobs.put(job);
    if (isTerminal(job.state)) stream.close();
  }
  stream.open();
}

if (document.body.dataset.page === "dashboard") dashboard();
else if (document.body.dataset.page === "job") jobPage();
