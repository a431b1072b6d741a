// The jobs shown on a page, keyed by id, drawn at most once per animation frame.
// Events only record the newest job object; a frame then updates just the cards that changed,
// so hundreds of progress events a second cost one DOM pass per frame.

import { createCard, isNewer, isTerminal, tickCard, updateCard } from "../progress/static/jobcard.js";

const FINISHED_STEP = 50;
const FINISHED_REMEMBERED = 1000;
const CLOCK_MS = 1000;

export class JobList {
  constructor({ list, template, more = null, empty = null, summary = null, announcer = null }) {
    Object.assign(this, { list, template, more, empty, summary, announcer });
    this.jobs = new Map();
    this.units = new Map(); // kind name → its progress_unit, once GET /api/kinds has answered
    this.cards = new Map();
    this.dirty = new Set();
    this.relayout = false;
    this.frame = 0;
    this.finishedShown = FINISHED_STEP;
    more?.addEventListener("click", () => {
      this.finishedShown += FINISHED_STEP;
      this.relayout = true;
      this.schedule();
    });
    setInterval(() => this.tick(), CLOCK_MS);
  }

  /** A snapshot: the list becomes exactly these jobs. */
  replaceAll(jobs) {
    this.jobs = new Map(jobs.map((job) => [job.id, job]));
    this.dirty = new Set(this.jobs.keys());
    this.relayout = true;
    this.schedule();
  }

  /** The kinds' progress units (`{name, progress_unit}` as GET /api/kinds lists them); every
   * card is redrawn, as those shown before the kinds arrived counted plain numbers. */
  setKinds(kinds) {
    this.units = new Map(kinds.map((kind) => [kind.name, kind.progress_unit]));
    for (const id of this.cards.keys()) this.dirty.add(id);
    this.schedule();
  }

  /** One job as it is now; ignored if older than what is shown (a late POST answer, say). */
  put(job) {
    const known = this.jobs.get(job.id);
    if (known && !isNewer(job, known)) return;
    this.jobs.set(job.id, job);
    this.dirty.add(job.id);
    if (!known || known.state !== job.state) this.relayout = true;
    if (known && !isTerminal(known.state) && isTerminal(job.state) && this.announcer) {
      this.announcer.textContent = `The ${job.kind} job ${job.state}.`; // read out by screen readers
    }
    this.schedule();
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.frame = 0;
    if (this.relayout) this.layout();
    for (const id of this.dirty) {
      const card = this.cards.get(id);
      if (!card) continue;
      const job = this.jobs.get(id);
      updateCard(card, job, this.units.get(job.kind) ?? null);
    }
    this.dirty.clear();
  }

  /** Which jobs have cards and in what order: newest first, old finished ones folded away. */
  layout() {
    this.relayout = false;
    const ordered = [...this.jobs.values()].sort(newestFirst);
    const visible = [];
    let finished = 0;
    for (const job of ordered) {
      if (isTerminal(job.state) && ++finished > this.finishedShown) {
        if (finished > FINISHED_REMEMBERED) this.jobs.delete(job.id);
        continue;
      }
      visible.push(job);
    }
    const keep = new Set(visible.map((job) => job.id));
    for (const [id, card] of this.cards) {
      if (!keep.has(id)) {
        card.root.remove();
        this.cards.delete(id);
      }
    }
    let cursor = this.list.firstElementChild;
    for (const job of visible) {
      let card = this.cards.get(job.id);
      if (!card) {
        card = createCard(this.template, job.id);
        this.cards.set(job.id, card);
        this.dirty.add(job.id);
      }
      if (card.root === cursor) cursor = cursor.nextElementSibling;
      else this.list.insertBefore(card.root, cursor);
    }
    this.showCounts(ordered, Math.min(finished, FINISHED_REMEMBERED) - Math.min(finished, this.finishedShown));
  }

  showCounts(jobs, folded) {
    if (this.empty) this.empty.hidden = jobs.length > 0;
    if (this.more) {
      this.more.hidden = folded <= 0;
      this.more.textContent = `Show ${Math.min(folded, FINISHED_STEP)} more of ${folded} older finished jobs`;
    }
    if (this.summary) {
      const count = (state) => jobs.filter((job) => job.state === state).length;
      const parts = [[count("running"), "running"], [count("queued"), "queued"],
        [jobs.filter((job) => isTerminal(job.state)).length, "finished"]];
      this.summary.textContent = parts.filter(([n]) => n > 0).map(([n, label]) => `${n} ${label}`).join(" · ");
    }
  }

  tick() {
    if (document.hidden) return;
    const now = Date.now();
    for (const card of this.cards.values()) {
      if (card.job && !isTerminal(card.job.state)) tickCard(card, now);
    }
  }
}

function newestFirst(a, b) {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return a.id < b.id ? 1 : -1;
}
