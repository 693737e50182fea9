// actcap page, Teach view: labels with webcam-recorded or dropped example videos → POST /teach → poll
// GET /jobs/{id} → per-label accuracy and confusion matrix → POST /models/{name}/activate ("Use this model").
// Each example remembers who is in it (the person field, kept between recordings and visits: people[]), each label
// may carry its sentence (captions[]); a job stopped for labels that duplicate shipped ones offers both ways on.
// Uses app.js's helpers ($, el, pretty, percent, showError, errorText, loadStatus) and live.js's (startWebcam, stopWebcam).
"use strict";

const RECORD_MS = 3000; // each example: 3 s, inside the 2-4 s the page promises
const COUNTDOWN = [3, 2, 1];
const POLL_MS = 500;
const PERSON_KEY = "actcap.teach.person";
let teach = { labels: [], camera: null, recording: false, job: null, model: null };
// teach.labels: [{ name, caption, examples: [{ blob, name, thumb, person }] }]

function currentPerson() {
  const person = $("teach-person").value.trim();
  try { localStorage.setItem(PERSON_KEY, person); } catch (e) { /* private mode: remembered for this visit only */ }
  return person;
}

// --- views -------------------------------------------------------------------------------------------------
function showView(name) {
  const teaching = name === "teach";
  document.querySelectorAll("main > section").forEach((s) => {
    if (s.id === "teach-view") s.hidden = !teaching;
    else if (s.id !== "result") s.hidden = teaching;
    else if (teaching) s.hidden = true;
  });
  $("view-predict").setAttribute("aria-pressed", String(!teaching));
  $("view-teach").setAttribute("aria-pressed", String(teaching));
  if (teaching && typeof live !== "undefined" && live) stopWebcam();
  if (!teaching) stopTeachCamera();
}

// --- labels and examples --------------------------------------------------------------------------------------
function addLabel() {
  const name = $("teach-label").value.trim();
  showError("");
  if (!name) return showError("Type a label first, e.g. “waving hello”.");
  if (!/^[A-Za-z0-9_ -]{1,40}$/.test(name)) {
    return showError("A label may use letters, digits, spaces, '_' and '-', at most 40 characters.");
  }
  if (teach.labels.some((l) => l.name === name)) return showError(`There is already a label “${name}”.`);
  teach.labels.push({ name, caption: "", examples: [] });
  $("teach-label").value = "";
  renderLabels();
}

function renderLabels() {
  $("teach-labels").replaceChildren(...teach.labels.map((label, i) => {
    const li = el("li");
    const strip = el("ol", undefined, "strip");
    strip.setAttribute("aria-label", `Examples of ${label.name}`);
    label.examples.forEach((ex, k) => {
      const item = el("li");
      const media = el("img");
      media.src = ex.thumb;
      media.alt = `example ${k + 1} of ${label.name}: ${ex.name}`;
      const who = el("small", ex.person || "who? (not said)", "person");
      who.title = "who is in this example";
      const del = el("button", "Delete", "secondary");
      del.type = "button";
      del.setAttribute("aria-label", `Delete example ${k + 1} of ${label.name}`);
      del.addEventListener("click", () => { label.examples.splice(k, 1); renderLabels(); });
      item.append(media, who, del);
      strip.append(item);
    });
    const record = el("button", "Record example");
    record.type = "button";
    record.setAttribute("aria-label", `Record an example of ${label.name}`);
    record.disabled = teach.recording;
    record.addEventListener("click", () => recordExample(label));
    const pick = el("input");
    pick.type = "file";
    pick.multiple = true;
    pick.accept = "video/*,.avi,.mkv";
    pick.id = `teach-files-${i}`;
    pick.addEventListener("change", () => addFiles(label, pick.files));
    const pickLabel = el("label", "Add videos: ");
    pickLabel.htmlFor = pick.id;
    const remove = el("button", "Remove label", "secondary");
    remove.type = "button";
    remove.addEventListener("click", () => { teach.labels.splice(i, 1); renderLabels(); });
    const bar = el("div", undefined, "actions");
    bar.append(record, remove);
    const caption = el("input");
    caption.type = "text";
    caption.maxLength = 200;
    caption.value = label.caption || "";
    caption.placeholder = `A person is … (optional; e.g. “A person is waving hello.”)`;
    caption.setAttribute("aria-label", `Sentence for ${label.name}`);
    caption.addEventListener("input", () => { label.caption = caption.value; });
    const captionRow = el("p", undefined, "teach-add");
    captionRow.append(el("span", "Sentence: "), caption);
    const n = label.examples.length;
    const people = new Set(label.examples.map((ex) => ex.person).filter(Boolean)).size;
    const who = people ? `, ${people} ${people === 1 ? "person" : "people"}` : "";
    li.append(el("h3", `${label.name} — ${n} example${n === 1 ? "" : "s"}${who}`), strip, bar, pickLabel, pick, captionRow);
    return li;
  }));
  $("teach-train").disabled = teach.recording || !teach.labels.length;
}

async function addFiles(label, fileList) {
  const person = currentPerson(); // who was named when the files were chosen, not when their thumbnails are ready
  for (const file of Array.from(fileList)) {
    label.examples.push({ blob: file, name: file.name, thumb: await videoThumb(file), person });
  }
  renderLabels();
}

function videoThumb(file) {
  // a frame from the middle of the video; one the server decodes where the browser cannot play it (an AVI)
  return new Promise((resolve) => {
    const v = document.createElement("video");
    const url = URL.createObjectURL(file);
    const done = (thumb) => { URL.revokeObjectURL(url); resolve(thumb); };
    v.muted = true;
    v.onloadeddata = () => { v.currentTime = Number.isFinite(v.duration) ? v.duration / 2 : 0; };
    v.onseeked = () => done(snapshot(v));
    v.onerror = () => middleThumbnail(file).then(done);
    v.src = url;
  });
}

function snapshot(video) {
  const canvas = document.createElement("canvas");
  canvas.width = 120;
  canvas.height = Math.round((120 * (video.videoHeight || 3)) / (video.videoWidth || 4));
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return canvas.toDataURL("image/jpeg", 0.7);
}

// --- recording with the webcam --------------------------------------------------------------------------------
async function teachCamera() {
  if (teach.camera) return teach.camera;
  // 15 frames/s like the training clips and the live stream: motion features depend on the frame rate
  teach.camera = await navigator.mediaDevices.getUserMedia({
    video: { width: 640, height: 480, frameRate: { ideal: 15 } }, audio: false });
  $("teach-preview").srcObject = teach.camera;
  $("teach-camera").hidden = false;
  return teach.camera;
}

function stopTeachCamera() {
  if (!teach.camera) return;
  teach.camera.getTracks().forEach((t) => t.stop());
  teach.camera = null;
  $("teach-preview").srcObject = null;
  $("teach-camera").hidden = true;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function recordExample(label) {
  showError("");
  let stream;
  try {
    stream = await teachCamera();
  } catch (e) {
    return showError(`The webcam could not be started: ${e.message || e.name}`);
  }
  teach.recording = true;
  renderLabels();
  try {
    for (const n of COUNTDOWN) {
      $("teach-countdown").textContent = String(n);
      await sleep(1000);
    }
    $("teach-countdown").textContent = `Recording “${label.name}”…`;
    const chunks = [];
    const recorder = new MediaRecorder(stream, { mimeType: "video/webm" });
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    const stopped = new Promise((r) => { recorder.onstop = r; });
    recorder.start();
    await sleep(RECORD_MS / 2);
    const thumb = snapshot($("teach-preview"));
    await sleep(RECORD_MS / 2);
    recorder.stop();
    await stopped;
    const k = label.examples.length + 1;
    label.examples.push({ blob: new Blob(chunks, { type: "video/webm" }),
      name: `${label.name.replace(/ /g, "_")}_${k}.webm`, thumb, person: currentPerson() });
  } catch (e) {
    showError(`Recording failed: ${e.message || e.name}`);
  } finally {
    $("teach-countdown").textContent = "";
    teach.recording = false;
    renderLabels();
  }
}

// --- training ---------------------------------------------------------------------------------------------------
async function train(allowDuplicates = false) {
  showError("");
  const form = new FormData();
  const name = $("teach-name").value.trim();
  form.append("name", name);
  form.append("base", document.querySelector("input[name=teach-base]:checked").value);
  // people[] only when every example says who is in it; a partial list would be refused (one per video)
  const examples = teach.labels.flatMap((label) => label.examples);
  const named = examples.length && examples.every((ex) => ex.person);
  teach.labels.forEach((label) => label.examples.forEach((ex) => {
    form.append("labels[]", label.name);
    form.append("videos[]", ex.blob, ex.name);
    if (named) form.append("people[]", ex.person);
  }));
  teach.labels.filter((l) => (l.caption || "").trim())
    .forEach((l) => form.append("captions[]", `${l.name}=${l.caption.trim()}`));
  if (allowDuplicates) form.append("allow_duplicates", "true");
  $("teach-train").disabled = true;
  $("teach-result").hidden = true;
  $("teach-duplicates").hidden = true;
  try {
    const response = await fetch("/teach", { method: "POST", body: form });
    if (!response.ok) {
      showError(`The server cannot train on this: ${await errorText(response)}`);
      $("teach-train").disabled = false;
      return;
    }
    teach.job = (await response.json()).job;
    teach.model = name;
    $("teach-progress").hidden = false;
    $("teach-cancel").disabled = false;
    pollJob();
  } catch (e) {
    showError(`Could not reach the actcap server: ${e.message}`);
    $("teach-train").disabled = false;
  }
}

async function pollJob() {
  const response = await fetch(`/jobs/${teach.job}`);
  if (!response.ok) return showError(`Lost track of the training job: ${await errorText(response)}`);
  const job = await response.json();
  $("teach-bar").value = job.progress;
  $("teach-stage").textContent = job.state === "queued" ? "waiting for another training job…" : job.message;
  if (job.state === "queued" || job.state === "running") {
    setTimeout(pollJob, POLL_MS);
    return;
  }
  $("teach-train").disabled = false;
  $("teach-cancel").disabled = true;
  if (job.state === "failed" && job.warnings && job.warnings.length) return showDuplicates(job.warnings);
  if (job.state === "failed") return showError(`Training failed: ${job.message}`);
  if (job.state === "cancelled") return ($("teach-stage").textContent = "Training cancelled; nothing was saved.");
  renderMetrics(job.metrics);
  refreshModels(); // models.js
}

function showDuplicates(warnings) {
  // stopped before training: say which labels look like shipped ones and offer both ways on
  $("teach-stage").textContent = "Stopped before training: some labels look like actions it already knows.";
  $("teach-warnings").replaceChildren(...warnings.map((w) => el("li", w)));
  $("teach-duplicates").hidden = false;
}

function renderMetrics(m) {
  $("teach-result").hidden = false;
  $("teach-method").textContent = m.summary;
  $("teach-method").classList.toggle("warning", Boolean(m.optimistic));
  const head = el("tr");
  head.append(el("th", "label"), el("th", "accuracy"), el("th", "examples"));
  $("teach-accuracy").replaceChildren(head, ...Object.entries(m.per_label).map(([label, v]) => {
    const tr = el("tr");
    tr.append(el("th", pretty(label)), el("td", percent(v.accuracy)), el("td", v.examples));
    return tr;
  }));
  const top = el("tr");
  top.append(el("th", "label ↓ / said →"), ...m.classes.map((c) => el("th", pretty(c))));
  $("teach-confusion").replaceChildren(top, ...m.confusion_matrix.map((row, i) => {
    const tr = el("tr");
    tr.append(el("th", pretty(m.confusion_rows[i])), ...row.map((n) => el("td", n)));
    return tr;
  }));
}

async function useModel() {
  showError("");
  const response = await fetch(`/models/${encodeURIComponent(teach.model)}/activate`, { method: "POST" });
  if (!response.ok) return showError(`Could not switch models: ${await errorText(response)}`);
  await Promise.all([loadStatus(), refreshModels()]); // the status line, labels and models list say the taught one
  stopTeachCamera();
  showView("predict");
  $("teach-stage").textContent = `Now using “${teach.model}”.`;
}

function initTeach() {
  $("view-predict").addEventListener("click", () => showView("predict"));
  $("view-teach").addEventListener("click", () => showView("teach"));
  $("teach-add").addEventListener("click", addLabel);
  $("teach-label").addEventListener("keydown", (e) => { if (e.key === "Enter") addLabel(); });
  $("teach-train").addEventListener("click", () => train());
  $("teach-use").addEventListener("click", useModel);
  $("teach-anyway").addEventListener("click", () => train(true));
  $("teach-only-mine").addEventListener("click", () => {
    $("teach-base-none").checked = true;
    train();
  });
  try { $("teach-person").value = localStorage.getItem(PERSON_KEY) || ""; } catch (e) { /* no storage */ }
  $("teach-person").addEventListener("change", currentPerson);
  if (!window.MediaRecorder) $("teach-camera").title = "This browser cannot record video; add video files instead.";
}

document.addEventListener("DOMContentLoaded", initTeach);
