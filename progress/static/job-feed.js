// The jobs that the <job-progress> elements of a page show, and the one stream they share, after
// the contract's page rules: while one job is followed, that job's own stream
// (<prefix>/api/jobs/<id>/events); for several, one EventSource on <prefix>/api/events, however
// many (browsers allow six HTTP/1.1 connections per origin). Once every job shown has ended, or
// is not there to show, the stream is closed, so the browser never reconnects to it.

import { getJson } from "./api.js";
import { isNewer, isTerminal } from "./jobcard.js";
import { LiveStream } from "./stream.js";

/** What `following` holds while the stream is `<prefix>/api/events`. */
const ALL_JOBS = null;

export class JobFeed {
  /** @param {string} apiRoot where the extension's API is: `/progress/api` */
  constructor(apiRoot) {
    this.apiRoot = apiRoot;
    this.viewers = new Map(); // job id → its elements: {show(job), gone(reason), redraw()}
    this.jobs = new Map(); // job id → the newest job object seen, for watched ids only
    this.settled = new Map(); // job id → "ended", "not_found" or "unauthorized": no stream needed
    this.stream = null;
    this.following = undefined; // the id whose stream is open, ALL_JOBS, or undefined: none
    this.covered = null; // ids /api/events answered (its snapshot, or a GET); null until its snapshot
    this.planned = false;
    this.units = new Map(); // kind name → its progress_unit, once GET /api/kinds has answered
    this.kindsAsked = false;
  }

  /** `viewer` shows `jobId` from now on: at once what is known of it, then every change. */
  watch(jobId, viewer) {
    if (!this.viewers.has(jobId)) this.viewers.set(jobId, new Set());
    this.viewers.get(jobId).add(viewer);
    const known = this.jobs.get(jobId);
    if (known) viewer.show(known);
    const end = this.settled.get(jobId);
    if (end && end !== "ended") viewer.gone(end);
    if (!this.kindsAsked) {
      this.kindsAsked = true;
      this.loadKinds().catch(() => {}); // counts show as plain numbers without
    }
    this.plan();
  }

  unwatch(jobId, viewer) {
    const viewers = this.viewers.get(jobId);
    viewers?.delete(viewer);
    if (viewers?.size === 0) {
      this.viewers.delete(jobId);
      this.covered?.delete(jobId);
      if (!this.settled.has(jobId)) this.jobs.delete(jobId); // unwatched, its events are no longer kept
    }
    this.plan();
  }

  unitOf(kind) {
    return this.units.get(kind) ?? null;
  }

  /** Elements connect one by one as the page is parsed: choose the stream once they all have. */
  plan() {
    if (this.planned) return;
    this.planned = true;
    queueMicrotask(() => {
      this.planned = false;
      this.reconcile();
    });
  }

  reconcile() {
    const wanted = this.wanted();
    if (wanted.length === 0) this.closeStream();
    else if (this.following === ALL_JOBS) this.lookUp(wanted.filter((id) => this.covered && !this.covered.has(id)));
    else if (wanted.length > 1) this.openStream(ALL_JOBS);
    else if (this.following !== wanted[0]) this.openStream(wanted[0]);
  }

  /** The ids watched whose job may still change. */
  wanted() {
    return [...this.viewers.keys()].filter((id) => !this.settled.has(id));
  }

  /** `<prefix>/api/jobs/<id>`: the job, and with `/events` after it, its stream. */
  jobUrl(jobId) {
    return `${this.apiRoot}/jobs/${encodeURIComponent(jobId)}`;
  }

  openStream(jobId) {
    this.stream?.close();
    this.following = jobId;
    this.covered = null;
    const all = jobId === ALL_JOBS;
    const url = all ? `${this.apiRoot}/events` : `${this.jobUrl(jobId)}/events`;
    this.stream = new LiveStream(url,
      all ? (type, data) => this.receiveAll(type, data) : (type, job) => this.deliver(job),
      (status) => { if (status === "live") this.plan(); }, // back: look up what failed meanwhile
      all ? () => this.stillSignedIn() : () => this.jobGoesOn(jobId));
    this.stream.open();
  }

  closeStream() {
    this.stream?.close();
    this.stream = null;
    this.following = undefined;
  }

  /** `/api/events` lists the owner's unfinished jobs and the 50 last finished: an id it does
   * not list ended long ago, is someone else's or never was, and only a GET can tell which. */
  receiveAll(type, data) {
    if (type !== "snapshot") {
      this.deliver(data);
      return;
    }
    this.covered = new Set(data.jobs.map((job) => job.id));
    for (const job of data.jobs) this.deliver(job);
    this.lookUp(this.wanted().filter((id) => !this.covered.has(id)));
  }

  deliver(job) {
    const viewers = this.viewers.get(job.id);
    if (!viewers) return; // another job of this owner that no element here shows
    const known = this.jobs.get(job.id);
    if (known && !isNewer(job, known)) return;
    this.jobs.set(job.id, job);
    for (const viewer of viewers) viewer.show(job);
    if (isTerminal(job.state)) this.settle(job.id, "ended");
  }

  /** No stream will tell more of this job: it ended, or the API answered that it is not there. */
  settle(jobId, end) {
    this.settled.set(jobId, end);
    if (end !== "ended") for (const viewer of this.viewers.get(jobId) ?? []) viewer.gone(end);
    this.plan();
  }

  lookUp(ids) {
    for (const id of ids) {
      this.covered.add(id);
      getJson(this.jobUrl(id)).then((job) => this.deliver(job), (error) => {
        if (!this.refused(id, error)) this.covered?.delete(id); // unreachable: asked again once the stream is live
      });
    }
  }

  /** A GET of the job failed: a 404 or a 401 settles it (true); anything else may pass. */
  refused(jobId, error) {
    if (error.status === 404) this.settle(jobId, "not_found");
    else if (error.status === 401) this.settle(jobId, "unauthorized");
    return this.settled.has(jobId);
  }

  /** The browser gave up on a job's stream (a 404, 401 or 204, or the server away): the job
   * itself says whether to open it again. */
  async jobGoesOn(jobId) {
    try {
      this.deliver(await getJson(this.jobUrl(jobId)));
    } catch (error) {
      this.refused(jobId, error);
    }
    return !this.settled.has(jobId);
  }

  /** The browser gave up on `/api/events`: a 401 means the host's login no longer holds. */
  async stillSignedIn() {
    try {
      await this.loadKinds();
    } catch (error) {
      if (error.status !== 401) return true;
      for (const id of this.wanted()) this.settle(id, "unauthorized");
      return false;
    }
    return true;
  }

  /** The kinds' progress units, so a kind counting bytes shows "1.2 MB of 4.5 MB". */
  async loadKinds() {
    const { kinds } = await getJson(`${this.apiRoot}/kinds`);
    this.units = new Map(kinds.map((kind) => [kind.name, kind.progress_unit]));
    for (const viewers of this.viewers.values()) for (const viewer of viewers) viewer.redraw();
  }
}
