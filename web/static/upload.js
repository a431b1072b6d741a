// A file picker for a param marked `"format": "upload"` in its schema: the chosen file goes to
// POST /api/uploads as the raw body (XMLHttpRequest, for upload progress), then the job gets its id.

const SPEAK_EVERY_MS = 500; // the live percentage changes at most twice a second for screen readers

/** The hint under the picker, in place of the API's description of the id. */
export function uploadHint(spec) {
  const type = spec.contentMediaType ? `A ${spec.contentMediaType} file` : "A file";
  return `${type}, uploaded when you press Start.`;
}

/** `{control, read, panel, send}`: `read` gives `{file}`, `send(file)` resolves to `{id}`, `{error}` or `{cancelled}`. */
export function fileControl(spec) {
  const control = document.createElement("input");
  control.type = "file";
  if (spec.contentMediaType) control.accept = spec.contentMediaType;
  const panel = document.getElementById("upload-progress").content.firstElementChild.cloneNode(true);
  control.addEventListener("change", () => { panel.hidden = true; });
  const read = (input, name) => {
    const file = input.files[0];
    if (file) return { file };
    return input.required ? { error: `Choose a file for ${name}.` } : { value: undefined };
  };
  return { control, read, panel, send: (file) => send(file, panel) };
}

function send(file, panel) {
  const bar = panel.querySelector("progress");
  const percent = panel.querySelector(".upload-percent");
  const cancel = panel.querySelector(".upload-cancel");
  const xhr = new XMLHttpRequest();
  let spokenAt = -Infinity;
  const show = (loaded, total) => {
    const fraction = total > 0 ? Math.min(loaded / total, 1) : 1;
    bar.value = fraction; // max is 1
    const now = performance.now();
    if (fraction < 1 && now - spokenAt < SPEAK_EVERY_MS) return;
    spokenAt = now;
    percent.textContent = `${Math.floor(100 * fraction)}%`;
  };
  bar.setAttribute("aria-label", `Upload of ${file.name}`);
  show(0, file.size);
  cancel.hidden = false;
  panel.hidden = false;
  cancel.onclick = () => xhr.abort();
  return new Promise((resolve) => {
    xhr.upload.onprogress = (event) => show(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onload = () => resolve(answer(xhr));
    xhr.onerror = () => resolve({ error: "The upload failed: the connection to the server was lost. Try again." });
    xhr.onabort = () => resolve({ cancelled: true });
    xhr.open("POST", "/api/uploads");
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.send(file);
  }).then((outcome) => {
    cancel.hidden = true;
    if (outcome.id) show(file.size, file.size);
    else panel.hidden = true;
    return outcome;
  });
}

/** `{id}` for a 201, else the server's message (a 413 names the size limit). */
function answer(xhr) {
  if (xhr.status === 201 && typeof xhr.response?.id === "string") return { id: xhr.response.id };
  return { error: xhr.response?.error?.message ?? `The upload failed: the server answered HTTP ${xhr.status}.` };
}
