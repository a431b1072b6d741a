// One EventSource with resume: the browser retries with Last-Event-ID by itself; when it
// gives up (readyState CLOSED) we open a new one with ?lastEventId= (the contract's Resuming).

import { getJson } from "./api.js";

const EVENT_TYPES = ["snapshot", "progress", "state"];
const OFFLINE_AFTER_ERRORS = 3;
const MAX_BACKOFF_MS = 30_000;

export class LiveStream {
  /**
   * @param {string} url the stream
   * @param {(type: string, data: object) => void} onEvent called for every event, in order
   * @param {(status: "connecting"|"live"|"reconnecting"|"offline"|"closed") => void} onStatus
   */
  constructor(url, onEvent, onStatus) {
    this.url = url;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.lastId = null;
    this.source = null;
    this.errors = 0;
    this.timer = 0;
    this.closed = false;
    window.addEventListener("online", () => this.reopenSoon(0));
  }

  open() {
    const url = this.lastId === null ? this.url : `${this.url}?lastEventId=${encodeURIComponent(this.lastId)}`;
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener("open", () => {
      this.errors = 0;
      this.onStatus("live");
    });
    source.addEventListener("error", () => this.failed(source));
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (event) => this.receive(type, event));
    }
  }

  receive(type, event) {
    const id = Number(event.lastEventId);
    // Ids strictly increase; a live event at or below the last one would be a repeat.
    if (type !== "snapshot" && this.lastId !== null && id <= this.lastId) return;
    this.lastId = id;
    this.onEvent(type, JSON.parse(event.data));
  }

  failed(source) {
    if (this.closed || source !== this.source) return;
    this.errors += 1;
    const open = source.readyState !== EventSource.CLOSED;
    this.onStatus(this.errors >= OFFLINE_AFTER_ERRORS || !navigator.onLine ? "offline" : "reconnecting");
    if (!open) this.signInAgainOrReopen();
  }

  /** The browser gave up on an answer that was not an event stream: if that was a 401
   * (the session ended or its token was revoked), go to the sign-in page, as forms do. */
  async signInAgainOrReopen() {
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.errors, 5));
    try {
      await getJson("/api/session");
    } catch (error) {
      if (error.status === 401) return; // getJson sent the page to /signin
      // offline, or the server is restarting: the reopen below retries
    }
    this.reopenSoon(backoff);
  }

  reopenSoon(delay) {
    if (this.closed || (this.source && this.source.readyState !== EventSource.CLOSED)) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), delay);
  }

  /** Stop for good: the job page calls this on a terminal state, so no reconnect follows. */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.source?.close();
    this.onStatus("closed");
  }
}

const STATUS_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline, retrying",
  closed: "Finished",
};

/** The header's connection indicator: text and a data- attribute that CSS colours. */
export function connectionIndicator(element) {
  const text = element.querySelector(".connection-text");
  return (status) => {
    element.dataset.connection = status;
    text.textContent = STATUS_TEXT[status];
  };
}
