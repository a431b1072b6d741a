// A form per job kind, generated from its params' JSON Schema (GET /api/kinds).
// The server judges the values; its 400 message is shown next to the field it names.

let fieldCount = 0;

/** Fill `container` with one form per kind; `onStarted(job)` gets each job the server accepted. */
export async function showKindForms(container, status, onStarted) {
  let kinds;
  try {
    const response = await fetch("/api/kinds", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    ({ kinds } = await response.json());
  } catch (error) {
    status.textContent = `Could not load the job kinds (${error.message}). Reload the page to try again.`;
    return;
  }
  status.hidden = kinds.length > 0;
  status.textContent = kinds.length ? "" : "This server offers no job kinds.";
  for (const kind of kinds) container.append(kindForm(kind, onStarted));
}

function kindForm(kind, onStarted) {
  const form = document.getElementById("kind-form").content.firstElementChild.cloneNode(true);
  form.dataset.kind = kind.name;
  form.querySelector(".kind-title").textContent = kind.title;
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
    for (const field of fields) field.showError("");
    showText(formError, "");
    const params = {};
    for (const field of fields) {
      const read = field.read();
      if (read.error) return field.showError(read.error, true);
      if (read.value !== undefined) params[field.name] = read.value;
    }
    button.disabled = true;
    note.textContent = "Starting…";
    try {
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
      button.disabled = false;
    }
  });
  return form;
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
  const { control, read } = makeControl(spec);
  control.id = id;
  control.name = name;
  control.required = required;
  label.htmlFor = id;
  label.textContent = spec.title ?? name;
  hint.id = `${id}-hint`;
  error.id = `${id}-error`;
  hint.textContent = describe(spec);
  hint.hidden = !hint.textContent;
  control.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
  label.after(control);
  return {
    name,
    root,
    read: () => read(control, name),
    showError(message, focus = false) {
      showText(error, message);
      control.toggleAttribute("aria-invalid", Boolean(message));
      if (message && focus) control.focus();
    },
  };
}

function makeControl(spec) {
  if (Array.isArray(spec.enum)) {
    const control = document.createElement("select");
    spec.enum.forEach((value, index) => {
      const option = new Option(typeof value === "string" ? value : JSON.stringify(value), String(index));
      option.selected = JSON.stringify(value) === JSON.stringify(spec.default);
      control.append(option);
    });
    return { control, read: (select) => ({ value: spec.enum[Number(select.value)] }) };
  }
  const control = document.createElement("input");
  if (spec.type === "boolean") {
    control.type = "checkbox";
    control.checked = spec.default === true;
    return { control, read: (input) => ({ value: input.checked }) };
  }
  if (spec.type === "number" || spec.type === "integer") {
    control.type = "number";
    control.step = spec.type === "integer" ? "1" : "any";
    if (spec.minimum !== undefined) control.min = String(spec.minimum);
    if (spec.maximum !== undefined) control.max = String(spec.maximum);
    if (spec.default !== undefined) control.value = String(spec.default);
    return { control, read: readNumber };
  }
  control.type = "text";
  control.autocomplete = "off";
  if (spec.type === "string") {
    if (spec.minLength !== undefined) control.minLength = spec.minLength;
    if (spec.maxLength !== undefined) control.maxLength = spec.maxLength;
    if (spec.default !== undefined) control.value = spec.default;
    return { control, read: (input) => ({ value: input.value }) };
  }
  control.placeholder = "JSON";
  if (spec.default !== undefined) control.value = JSON.stringify(spec.default);
  return { control, read: readJson };
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
  const parts = [];
  if (spec.description) parts.push(spec.description);
  const low = spec.minimum ?? spec.exclusiveMinimum;
  const high = spec.maximum ?? spec.exclusiveMaximum;
  if (low !== undefined && high !== undefined) parts.push(`${low} to ${high}`);
  else if (low !== undefined) parts.push(`at least ${low}`);
  else if (high !== undefined) parts.push(`at most ${high}`);
  if (spec.minLength !== undefined || spec.maxLength !== undefined) {
    parts.push(`${spec.minLength ?? 0} to ${spec.maxLength ?? "any number of"} characters`);
  }
  if (spec.default !== undefined && spec.type !== "boolean") {
    parts.push(`default ${typeof spec.default === "string" ? `“${spec.default}”` : JSON.stringify(spec.default)}`);
  }
  return parts.join(" · ");
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
