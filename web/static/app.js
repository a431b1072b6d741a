// The pages' entry point: the dashboard (one stream for every job) or one job's page.

import { showKindForms } from "./forms.js";
import { handleCancelClicks, isTerminal } from "./jobcard.js";
import { JobList } from "./joblist.js";
import { LiveStream, connectionIndicator } from "./stream.js";

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
  // One EventSource for every job, however many: browsers allow six connections per origin.
  const stream = new LiveStream("/api/events", (type, data) => {
    if (type === "snapshot") jobs.replaceAll(data.jobs);
    else jobs.put(data);
  }, connectionIndicator(byId("connection")));
  stream.open();
  showKindForms(byId("kinds"), byId("kinds-status"), (job) => jobs.put(job));
}

function jobPage() {
  const list = byId("jobs");
  const jobs = new JobList({ list, template: byId("job-card"), announcer: byId("announcer") });
  handleCancelClicks(list);
  const show = connectionIndicator(byId("connection"));
  const stream = new LiveStream(list.dataset.stream, (type, job) => {
    jobs.put(job);
    if (isTerminal(job.state)) stream.close(); // no reconnect to a stream that has ended
  }, (status) => {
    show(status);
    if (status === "offline") checkJob();
  });

  // The stream failed for good (a 404 or 204): ask for the job itself.
  async function checkJob() {
    const response = await fetch(list.dataset.job, { headers: { Accept: "application/json" } }).catch(() => null);
    if (response?.status === 404) {
      stream.close();
      byId("job-gone").hidden = false;
    } else if (response?.ok) {
      const job = await response.json();
      jobs.put(job);
      if (isTerminal(job.state)) stream.close();
    }
  }
  stream.open();
}

if (document.body.dataset.page === "dashboard") dashboard();
else if (document.body.dataset.page === "job") jobPage();
