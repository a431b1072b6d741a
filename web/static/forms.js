// A form per job kind, generated from its params' JSON Schema (GET /api/kinds).
// The server judges the values; its 400 message is shown next to the field it names.
// A param marked `"format": "upload"` gets a file picker; the file is uploaded before the job starts.

import { formatAmount } from "../progress/static/amounts.js";
import { getJson } from "./session.js";
import { fileControl, uploadHint } from "./upload.js";

const WHITESPACE_NAMES = { "\t": "Tab", " ": "Space", "\n": "Line break", "": "Nothing (empty)" };

let fieldCount = 0;

/** The dashboard's form per kind. `load()` reads GET /api/kinds (again after a reconnect: a
 * restarted server may offer other kinds) and adds, replaces or removes forms to match; a form
 * whose kind did not change stays as it is, with what was typed, open or shut, and its focus. */
export class KindForms {
  /** `onStarted(job)` gets each job the server accepted; `onKinds(kinds)` each list read. */
  constructor(container, status, { onStarted, onKinds }) {
    Object.assign(this, { container, status, onStarted, onKinds });
    this.shown = new Map(); // kind name → {box, json}
  }

  async load() {
    let kinds;
    try {
      ({ kinds } = await getJson("/api/kinds"));
    } catch (error) {
      showText(this.status, `Could not load the job kinds (${error.message}). Reload the page to try again.`);
      return;
    }
    this.onKinds(kinds);
    showText(this.status, kinds.length ? "" : "This server offers no job kinds.");
    const firstTime = this.shown.size === 0;
    const shown = new Map(kinds.map((kind) => [kind.name, this.formOf(kind)]));
    let cursor = this.container.firstElementChild;
    for (const { box } of shown.values()) {
      if (box === cursor) cursor = cursor.nextElementSibling;
      else this.container.insertBefore(box, cursor); // an unchanged form is never moved, so keeps focus
    }
    for (const [name, { box }] of this.shown) {
      if (shown.get(name)?.box !== box) box.remove();
    }
    this.shown = shown;
    if (firstTime && kinds.length) this.container.firstElementChild.open = true;
  }

  formOf(kind) {
    const json = JSON.stringify(kind);
    const known = this.shown.get(kind.name);
    if (known?.json === json) return known;
    const box = kindForm(kind, this.onStarted);
    box.open = Boolean(known?.box.open);
    return { box, json };
  }
}

/** A collapsible box holding the kind's form; `form[data-kind]` is what tests and scripts find. */
function kindForm(kind, onStarted) {
  const box = document.getElementById("kind-form").content.firstElementChild.cloneNode(true);
  const form = box.querySelector("form");
  box.dataset.kind = kind.name;
  form.dataset.kind = kind.name;
  box.querySelector(".kind-title").textContent = kind.title;
  writeWithCode(form.querySelector(".kind-description"), kind.description);
  const required = new Set(kind.params.required ?? []);
  const fields = Object.entries(kind.params.properties ?? {})
    .map(([name, spec]) => makeField(name, spec, required.has(name)));
  form.querySelector(".fields").append(...fields.map((field) => field.root));
  const formError = form.querySelector(".form-error");
  const button = form.querySelector('button[type="submit"]');
  const note = form.querySelector(".kind-status");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.getAttribute("aria-disabled") === "true") return; // still starting the last one
    for (const field of fields) field.showError("");
    showText(formError, "");
    const params = {};
    const files = [];
    for (const field of fields) {
      const read = field.read();
      if (read.error) return field.showError(read.error, true);
      if (read.file) files.push([field, read.file]);
      else if (read.value !== undefined) params[field.name] = read.value;
    }
    // aria-disabled, not disabled: a disabled button drops its focus to the page body.
    button.setAttribute("aria-disabled", "true");
    try {
      for (const [field, file] of files) {
        note.textContent = `Uploading ${file.name}…`;
        const sent = await field.send(file);
        if (!sent.id) {
          note.textContent = sent.cancelled ? "Upload cancelled; no job was started." : "";
          if (sent.error) field.showError(sent.error, true);
          return;
        }
        params[field.name] = sent.id;
      }
      note.textContent = "Starting…";
      const outcome = await startJob(kind.name, params);
      if (outcome.job) {
        note.textContent = `Started a ${kind.name} job.`;
        onStarted(outcome.job);
      } else {
        note.textContent = "";
        const field = fields.find((candidate) => candidate.name === outcome.field);
        if (field) field.showError(outcome.message, true);
        else showText(formError, outcome.message);
      }
    } finally {
      button.removeAttribute("aria-disabled");
    }
  });
  return box;
}

/** POST the job; `{job}` when accepted, else `{message, field}` with the param the message names. */
async function startJob(kind, params) {
  let response;
  try {
    response = await fetch("/api/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ kind, params }),
    });
  } catch {
    return { message: "The server is unreachable; try again in a moment." };
  }
  const body = await response.json().catch(() => null);
  if (response.status === 202 && body) return { job: body };
  const message = body?.error?.message ?? `The server answered HTTP ${response.status}.`;
  const retry = response.headers.get("Retry-After");
  const named = body?.error?.code === "invalid_params" ? /^params\.([^\s.]+)/.exec(message) : null;
  return { message: retry ? `${message} Try again in ${retry} s.` : message, field: named?.[1] };
}

/** One labelled control for a param: number, integer, string, boolean, enum, or JSON for the rest. */
function makeField(name, spec, required) {
  const root = document.getElementById("kind-field").content.firstElementChild.cloneNode(true);
  const id = `field-${++fieldCount}`;
  const label = root.querySelector("label");
  const hint = root.querySelector(".field-hint");
  const error = root.querySelector(".field-error");
  const { control, read, panel, send } = makeControl(spec);
  control.id = id;
  control.name = name;
  control.required = required;
  label.htmlFor = id;
  label.textContent = spec.title ?? name;
  hint.id = `${id}-hint`;
  error.id = `${id}-error`;
  const description = describe(spec);
  writeWithCode(hint, description);
  hint.hidden = !description;
  control.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
  label.after(control);
  if (panel) hint.after(panel);
  return {
    name,
    root,
    send,
    read: () => read(control, name),
    showError(message, focus = false) {
      showText(error, message);
      if (message) control.setAttribute("aria-invalid", "true"); // an empty value is never announced
      else control.removeAttribute("aria-invalid");
      if (message && focus) control.focus();
    },
  };
}

function makeControl(spec) {
  const type = [spec.type].flat().find((name) => name !== "null"); // ["number", "null"]: a number or empty
  if (Array.isArray(spec.enum)) return selectControl(spec);
  if (spec.format === "upload") return fileControl(spec);
  if (type === "boolean") {
    const control = inputOf("checkbox");
    control.checked = spec.default === true;
    return { control, read: (input) => ({ value: input.checked }) };
  }
  if (type === "number" || type === "integer") {
    const control = inputOf("number");
    control.step = type === "integer" ? "1" : "any";
    if (spec.minimum !== undefined) control.min = String(spec.minimum);
    if (spec.maximum !== undefined) control.max = String(spec.maximum);
    if (typeof spec.default === "number") control.value = String(spec.default);
    return { control, read: readNumber };
  }
  if (type === "string") {
    const long = (spec.maxLength ?? 0) > 1000 || String(spec.default ?? "").includes("\n");
    const control = long ? document.createElement("textarea") : inputOf("text");
    if (long) control.rows = 4;
    if (spec.minLength !== undefined) control.minLength = spec.minLength;
    if (spec.maxLength !== undefined) control.maxLength = spec.maxLength;
    if (spec.default !== undefined) control.value = spec.default;
    return { control, read: (input) => ({ value: input.value }) };
  }
  if (type === "array" && [spec.items?.type].flat().includes("string")) {
    const control = document.createElement("textarea");
    control.rows = 3;
    control.placeholder = "One per line";
    if (Array.isArray(spec.default)) control.value = spec.default.join("\n");
    return { control, read: readLines };
  }
  const control = inputOf("text");
  control.placeholder = "JSON";
  if (spec.default !== undefined && spec.default !== null) control.value = JSON.stringify(spec.default);
  return { control, read: readJson };
}

function selectControl(spec) {
  const control = document.createElement("select");
  spec.enum.forEach((value, index) => {
    const option = new Option(optionLabel(value), String(index)); // the value itself is sent, by index
    option.selected = JSON.stringify(value) === JSON.stringify(spec.default);
    control.append(option);
  });
  return { control, read: (select) => ({ value: spec.enum[Number(select.value)] }) };
}

/** What a menu shows for one allowed value: strings as they are, a tab as "Tab", others as JSON. */
function optionLabel(value) {
  if (typeof value !== "string") return JSON.stringify(value);
  if (value.trim() !== "") return value;
  return WHITESPACE_NAMES[value] ?? JSON.stringify(value);
}

function inputOf(type) {
  const input = document.createElement("input");
  input.type = type;
  input.autocomplete = "off";
  return input;
}

/** A list of strings, one per line; blank lines are skipped and an empty box means "not given". */
function readLines(textarea) {
  const lines = textarea.value.split("\n").map((line) => line.trim()).filter(Boolean);
  return { value: lines.length ? lines : undefined };
}

/** An empty number field falls back to the default; anything typed goes to the server to judge. */
function readNumber(input, name) {
  if (input.validity.badInput) return { error: `params.${name} must be a number.` };
  return { value: input.value === "" ? undefined : Number(input.value) };
}

function readJson(input) {
  if (input.value.trim() === "") return { value: undefined };
  try {
    return { value: JSON.parse(input.value) };
  } catch {
    return { value: input.value };
  }
}

function describe(spec) {
  if (spec.format === "upload") return uploadHint(spec);
  const parts = [];
  if (spec.description) parts.push(spec.description);
  const low = spec.minimum ?? spec.exclusiveMinimum;
  const high = spec.maximum ?? spec.exclusiveMaximum;
  if (low !== undefined && high !== undefined) parts.push(`${formatAmount(low)} to ${formatAmount(high)}`);
  else if (low !== undefined) parts.push(`at least ${formatAmount(low)}`);
  else if (high !== undefined) parts.push(`at most ${formatAmount(high)}`);
  const length = describeLength(spec.minLength ?? 0, spec.maxLength);
  if (length) parts.push(length);
  const shown = typeof spec.default === "string" ? `“${spec.default}”`
    : typeof spec.default === "number" ? formatAmount(spec.default) : JSON.stringify(spec.default);
  if (spec.default !== null && spec.type !== "boolean" && shown && shown.length <= 40 && !shown.includes("\n")) {
    parts.push(`default ${shown}`);
  }
  return parts.join(" · ");
}

/** "1 to 100 characters", "at least 1 character", "up to 200 characters", "exactly 22 characters". */
function describeLength(min, max) {
  const characters = (count) => `${formatAmount(count)} ${count === 1 ? "character" : "characters"}`;
  if (max === undefined) return min > 0 ? `at least ${characters(min)}` : "";
  if (min === max) return `exactly ${characters(max)}`;
  return min > 0 ? `${formatAmount(min)} to ${characters(max)}` : `up to ${characters(max)}`;
}

function showText(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

/** Text with `code` spans, as kinds write their descriptions; built from text nodes only. */
function writeWithCode(element, text) {
  element.replaceChildren(...(text ?? "").split("`").map((part, index) => {
    if (index % 2 === 0) return document.createTextNode(part);
    const code = document.createElement("code");
    code.textContent = part;
    return code;
  }));
}
