// One EventSource with resume: the browser retries with Last-Event-ID by itself; when it
// gives up (readyState CLOSED) we open a new one with ?lastEventId= (the contract's Resuming).

const EVENT_TYPES = ["snapshot", "progress", "state"];
const OFFLINE_AFTER_ERRORS = 3;
const MAX_BACKOFF_MS = 30_000;

export class LiveStream {
  /**
   * @param {string} url the stream
   * @param {(type: string, data: object) => void} onEvent called for every event, in order
   * @param {(status: "connecting"|"live"|"reconnecting"|"offline"|"closed") => void} onStatus
   * @param {() => Promise<boolean>} whenClosed asked once the browser has given up (a 401, a 404,
   *   a 204, a server away): true opens the stream again after a back-off, false leaves it closed
   */
  constructor(url, onEvent, onStatus, whenClosed = async () => true) {
    this.url = url;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.whenClosed = whenClosed;
    this.lastId = null;
    this.source = null;
    this.errors = 0;
    this.timer = 0;
    this.closed = false;
    this.online = () => this.reopenSoon(0);
    window.addEventListener("online", this.online);
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
    if (!open) this.askThenReopen();
  }

  /** The browser gave up on an answer that was not an event stream: ask `whenClosed` whether
   * it is worth another try (a revoked session or a job that is gone is not). */
  async askThenReopen() {
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.errors, 5));
    if (await this.whenClosed()) this.reopenSoon(backoff);
  }

  reopenSoon(delay) {
    if (this.closed || (this.source && this.source.readyState !== EventSource.CLOSED)) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), delay);
  }

  /** Stop for good: called on a job's terminal state, so no reconnect follows. */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this.online);
    this.source?.close();
    this.onStatus("closed");
  }
}
