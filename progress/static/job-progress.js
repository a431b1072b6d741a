// <job-progress job="<id>">: one job, live, in any page of a host app (issue 16). A plain ES
// module the extension serves at <prefix>/static/job-progress.js; no framework, no build step.
// It draws the dashboard's card (jobcard.js) in its own children, so a host's CSS reaches them,
// and the page's elements share one stream (job-feed.js).

import { JobFeed } from "./job-feed.js";
import { cardOf, handleCancelClicks, isTerminal, tickCard, updateCard } from "./jobcard.js";

/** The extension's url_prefix, where its API is: `/progress` for `/progress/static/job-progress.js`. */
const MODULE_PREFIX = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const STYLESHEET = new URL("job-progress.css", import.meta.url).href;
const CLOCK_MS = 1000;
const GONE_TEXT = {
  not_found: "Job not found: there is no such job of yours, or it is no longer kept.",
  unauthorized: "Sign in to see this job.",
};

const feeds = new Map(); // url prefix → the JobFeed of its elements
const ticking = new Set(); // elements showing an unfinished job: their clocks move every second
let clock = 0;
let stylesheetLinked = false;

class JobProgress extends HTMLElement {
  static observedAttributes = ["job"];

  connectedCallback() {
    linkStylesheet();
    if (!this.feed) {
      // Read once: a `prefix` attribute (the extension's url_prefix, "" at the root) wins over
      // where this module was loaded from.
      const prefix = this.getAttribute("prefix") ?? MODULE_PREFIX;
      this.feed = feedFor(prefix);
      handleCancelClicks(this, `${prefix}/api`);
    }
    this.follow();
  }

  disconnectedCallback() {
    this.unfollow();
  }

  attributeChangedCallback(name, before, after) {
    if (this.jobId === undefined || before === after) return; // not connected yet: connectedCallback follows
    this.unfollow();
    this.follow();
  }

  follow() {
    this.jobId = this.getAttribute("job") ?? "";
    this.job = null;
    this.card = cardOf(fillWithParts(this), this.jobId);
    if (this.jobId) this.feed.watch(this.jobId, this);
    else this.gone("not_found");
  }

  unfollow() {
    if (this.jobId) this.feed.unwatch(this.jobId, this);
    this.jobId = undefined;
    ticking.delete(this);
  }

  /** The job as it is now (the feed passes only newer ones); drawn at the next frame. */
  show(job) {
    this.job = job;
    this.redraw();
  }

  redraw() {
    if (this.job && !this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.frame = 0;
    if (!this.job || this.job.id !== this.jobId) return;
    updateCard(this.card, this.job, this.feed.unitOf(this.job.kind));
    if (isTerminal(this.job.state)) ticking.delete(this);
    else startTicking(this);
  }

  /** Nothing to show, and honestly so: the API answered 404 (no such job of this owner's,
   * someone else's, or forgotten) or 401. No job data was received, so none is left here. */
  gone(reason) {
    ticking.delete(this);
    const hadFocus = this.contains(document.activeElement);
    const note = document.createElement("p");
    note.className = "job-gone";
    note.tabIndex = -1;
    note.textContent = GONE_TEXT[reason];
    this.job = null;
    this.replaceChildren(note);
    this.dataset.state = reason;
    if (hadFocus) note.focus(); // a keyboard user stays where they were
  }
}

function feedFor(prefix) {
  if (!feeds.has(prefix)) feeds.set(prefix, new JobFeed(`${prefix}/api`));
  return feeds.get(prefix);
}

/** The card's parts, as the dashboard's `<template id="job-card">` has them, made with the DOM's
 * own methods (never HTML); the kind's name is no link here but still takes Cancel's focus. */
function fillWithParts(host) {
  const part = (tag, className, attributes = {}, ...children) => {
    const element = document.createElement(tag);
    element.className = className;
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    element.append(...children);
    return element;
  };
  delete host.dataset.state;
  delete host.dataset.outcome;
  host.classList.remove("job-retried");
  host.replaceChildren(
    part("div", "job-head", {},
      part("span", "job-kind", { tabindex: "-1" }),
      part("span", "job-params"),
      part("span", "job-state", { role: "status" }, "Loading…")),
    part("div", "job-bar", { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": "Progress" },
      part("div", "job-bar-fill")),
    part("p", "job-line", {}, part("span", "job-percent"), part("span", "job-message")),
    part("p", "job-attempt", { hidden: "" }),
    part("p", "job-error", { hidden: "" }),
    part("div", "job-foot", {},
      part("p", "job-times", {}, part("span", "job-elapsed"), part("span", "job-eta"), part("span", "job-limit")),
      part("div", "job-actions", {},
        part("button", "job-cancel", { type: "button", "data-action": "cancel" }, "Cancel"),
        part("a", "job-result", { download: "", hidden: "" }))));
  return host;
}

function startTicking(element) {
  ticking.add(element);
  if (!clock) clock = setInterval(tick, CLOCK_MS);
}

function tick() {
  if (ticking.size === 0) {
    clearInterval(clock);
    clock = 0;
  } else if (!document.hidden) {
    const now = Date.now();
    for (const element of ticking) tickCard(element.card, now);
  }
}

/** Its look, once per page, from beside this module (CSP `style-src 'self'` allows it); a host
 * that links job-progress.css itself, in its <head>, avoids a first unstyled frame. */
function linkStylesheet() {
  if (stylesheetLinked) return;
  stylesheetLinked = true;
  if ([...document.querySelectorAll('link[rel="stylesheet"]')].some((link) => link.href === STYLESHEET)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = STYLESHEET;
  document.head.append(link);
}

if (!customElements.get("job-progress")) customElements.define("job-progress", JobProgress);
