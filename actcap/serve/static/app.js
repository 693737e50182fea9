// actcap page: pick frames or a video → POST /predict → show the caption (the webcam, over /stream: live.js).
// Plain script, no build step, nothing loaded from elsewhere. Text from the server is only ever set with
// textContent, never innerHTML.
"use strict";

const VIDEO_EXT = /\.(avi|mp4|mkv|webm|mov)$/i;
const ANIMATABLE = /^image\/(gif|webp|png|apng)$/; // image types that may hold many frames
const PALETTE = ["#0b63c5", "#d1495b", "#2e933c", "#edae49", "#7b4fb0", "#00798c", "#c05299", "#6b5a3a"];

const $ = (id) => document.getElementById(id);
const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" }).compare;
let chosen = { frames: [], video: null, urls: [] };
let classes = [];

// --- small helpers -----------------------------------------------------------------------------------
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}
const pretty = (label) => String(label).replace(/_/g, " ");
const percent = (p) => `${(100 * p).toFixed(1)}%`;
const colourOf = (label) => PALETTE[Math.max(0, classes.indexOf(label)) % PALETTE.length];
// every answer has a state: an action, something the model does not know, or nothing moving
const STATES = { action: "Action", unknown: "Unknown action", idle: "Nobody moving" };
const STATE_COLOURS = { unknown: "#8a8f98", idle: "#d5dae0" };
const stateOf = (r) => (r.state in STATES ? r.state : "action");
const nameOf = (s) => (stateOf(s) === "action" ? pretty(s.label) : STATES[stateOf(s)]);
const colourOfSegment = (s) => STATE_COLOURS[stateOf(s)] || colourOf(s.label);

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function errorText(response) {
  // the service answers {"detail": "..."}; anything else (a proxy's HTML page) is summarised, not shown raw
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    return JSON.stringify(body.detail);
  } catch (_) {
    return `${response.status} ${response.statusText}`;
  }
}

// --- status line -------------------------------------------------------------------------------------
async function loadStatus() {
  try {
    const [health, labels] = await Promise.all([fetch("/health"), fetch("/labels")]);
    if (!health.ok) throw new Error(await errorText(health));
    const h = await health.json();
    classes = labels.ok ? (await labels.json()).labels : [];
    $("status").textContent = `Model “${h.model}” ready: ${h.classes} actions (${classes.map(pretty).join(", ")}).`;
    $("files").dataset.maxFrames = h.limits.max_frames;
  } catch (e) {
    $("status").textContent = "The model is not available.";
    showError(`Could not reach the actcap server: ${e.message}`);
  }
}

// --- choosing frames or a video -----------------------------------------------------------------------
function choose(fileList) {
  clearChoice();
  showError("");
  const files = Array.from(fileList);
  const videos = files.filter((f) => f.type.startsWith("video/") || VIDEO_EXT.test(f.name));
  const frames = files.filter((f) => !videos.includes(f));
  if (videos.length && frames.length) return showError("Choose either image frames or one video, not both.");
  if (videos.length > 1) return showError(`Choose one video at a time (you chose ${videos.length}).`);
  chosen.video = videos[0] || null;
  // ordered like the server's natural sort (frame_2 before frame_10); sent with order=as_sent so the
  // strip shows exactly the order the model gets
  chosen.frames = frames.sort((a, b) => byName(a.name, b.name));
  const max = Number($("files").dataset.maxFrames || 0);
  if (max && chosen.frames.length > max) {
    showError(`${chosen.frames.length} frames chosen; the server takes at most ${max}.`);
  }
  renderStrip();
}

function renderStrip() {
  const strip = $("strip");
  const items = chosen.video ? [chosen.video] : chosen.frames;
  items.forEach((file, i) => {
    const url = URL.createObjectURL(file);
    chosen.urls.push(url);
    const li = el("li");
    const media = el(chosen.video ? "video" : "img");
    media.src = url;
    if (chosen.video) {
      media.controls = true; media.muted = true; media.setAttribute("aria-label", file.name);
      media.addEventListener("error", () => li.remove()); // a file this browser cannot play: thumbnails instead
    } else { media.alt = `frame ${i + 1}: ${file.name}`; media.loading = "lazy"; }
    li.append(media, el("span", chosen.video ? file.name : i + 1));
    li.title = file.name;
    strip.append(li);
  });
  const n = chosen.frames.length;
  $("selection").textContent = chosen.video ? `Video: ${chosen.video.name}`
    : n ? `${n} frame${n > 1 ? "s" : ""}, in this order:` : "";
  $("predict").disabled = $("clear").disabled = !items.length;
  $("timeline-option").hidden = !chosen.video;
  if (chosen.video || (n === 1 && ANIMATABLE.test(chosen.frames[0].type))) showPreview(items[0]);
}

// The middle one of the server's thumbnails of `file` (POST /preview), or an empty image when it has none.
async function middleThumbnail(file) {
  const form = new FormData();
  form.append("video", file, file.name);
  try {
    const response = await fetch("/preview", { method: "POST", body: form });
    const thumbs = response.ok ? (await response.json()).thumbnails : [];
    return thumbs.length ? thumbs[Math.floor(thumbs.length / 2)] : "data:,";
  } catch (_) {
    return "data:,";
  }
}

// The server's view of a video or a possibly animated image (POST /preview): its frame count, as the model
// will read it, and thumbnails it decoded itself, shown after the player (which Chromium leaves black for an
// AVI, the datasets' format). Frames of an animated GIF, WebP or PNG replace its single image.
async function showPreview(file) {
  const asked = chosen;
  const form = new FormData();
  form.append(chosen.video ? "video" : "frames[]", file, file.name);
  let p;
  try {
    const response = await fetch("/preview", { method: "POST", body: form });
    if (!response.ok) return; // Predict says what is wrong with the file
    p = await response.json();
  } catch (_) {
    return;
  }
  if (chosen !== asked || p.frames < 2) return; // another choice since, or a still image
  const seconds = p.fps ? `, ${(p.frames / p.fps).toFixed(1)} s` : "";
  $("selection").textContent = `${chosen.video ? "Video" : "Animation"}: ${file.name} (${p.frames} frames${seconds})`;
  if (!chosen.video) $("strip").replaceChildren();
  const step = (p.frames - 1) / Math.max(1, p.thumbnails.length - 1);
  p.thumbnails.forEach((src, i) => {
    const img = el("img");
    img.src = src;
    img.alt = `frame ${Math.round(i * step) + 1} of ${p.frames}: ${file.name}`;
    const li = el("li");
    li.className = "thumbnail";
    li.dataset.frame = Math.round(i * step); // counted from 0, as an answer's pose.frames are
    li.append(img, el("span", Math.round(i * step) + 1));
    $("strip").append(li);
  });
}

function clearChoice() {
  chosen.urls.forEach((u) => URL.revokeObjectURL(u));
  chosen = { frames: [], video: null, urls: [] };
  $("strip").replaceChildren();
  $("selection").textContent = "";
  $("predict").disabled = $("clear").disabled = true;
  $("timeline-option").hidden = true;
}

async function predict() {
  const form = new FormData();
  if (chosen.video) form.append("video", chosen.video, chosen.video.name);
  if (chosen.video && $("want-timeline").checked) form.append("timeline", "true");
  chosen.frames.forEach((f) => form.append("frames[]", f, f.name));
  form.append("order", "as_sent");
  form.append("pose", "true"); // the person's joints, drawn over the frames (pose.js)
  showError("");
  $("predict").disabled = true;
  $("predict").textContent = "Predicting…";
  try {
    const response = await fetch("/predict", { method: "POST", body: form });
    if (!response.ok) {
      showError(`The server could not use this input: ${await errorText(response)}`);
      return;
    }
    const answer = await response.json();
    render(answer);
    showUploadPose(answer.pose, answer.frames_received);
  } catch (e) {
    showError(`Could not reach the actcap server: ${e.message}`);
  } finally {
    $("predict").textContent = "Predict";
    $("predict").disabled = !(chosen.frames.length || chosen.video);
  }
}

// --- showing a prediction -----------------------------------------------------------------------------
function render(r) {
  $("result").hidden = false;
  $("result").dataset.state = stateOf(r);
  $("state").textContent = STATES[stateOf(r)];
  $("caption").textContent = r.caption;
  // an unknown or idle answer's best label is only the closest of the known actions: its probability among
  // them says nothing about how sure the model is, so no percentage is shown for it
  const sure = stateOf(r) === "action";
  $("label").textContent = sure ? pretty(r.prediction) : `closest: ${pretty(r.prediction)}`;
  $("label").classList.toggle("closest", !sure);
  $("confidence").textContent = sure ? percent(r.confidence) : "";
  $("confidence-bar").style.width = sure ? percent(r.confidence) : "0%";
  $("confidence-bar").parentElement.hidden = !sure;
  $("topk-title").hidden = $("topk").hidden = !sure;
  $("topk").replaceChildren(...r.top_k.slice(0, 5).map(({ label, confidence }) => {
    const bar = el("div", undefined, "bar");
    const fill = el("div", undefined, "fill");
    fill.style.width = percent(confidence);
    bar.append(fill);
    bar.setAttribute("aria-hidden", "true");
    const li = el("li");
    li.append(el("span", pretty(label)), bar, el("span", percent(confidence), "value"));
    return li;
  }));
  $("warnings").replaceChildren(...(r.warnings || []).map((w) => el("li", w)));
  $("meta").textContent = `${r.frames_used} of ${r.frames_received} frames used · ${r.timing_ms} ms · ` +
    `model ${r.model}`;
  renderTimeline(r.segments, r.narrative);
}

// segments: [{start, end, label, confidence}] in seconds, for longer videos; drawn as a coloured bar
function renderTimeline(segments, narrative) {
  const box = $("timeline");
  box.hidden = !(segments && segments.length);
  if (box.hidden) return;
  const t0 = Math.min(...segments.map((s) => s.start));
  const t1 = Math.max(...segments.map((s) => s.end));
  const span = Math.max(t1 - t0, 1e-6);
  const bar = $("timeline-bar");
  bar.replaceChildren(...segments.map((s) => {
    const part = el("div");
    part.style.width = `${(100 * (s.end - s.start)) / span}%`;
    part.style.backgroundColor = colourOfSegment(s);
    part.dataset.state = stateOf(s);
    const sure = stateOf(s) === "action" ? ` (${percent(s.confidence)})` : "";
    part.title = `${nameOf(s)}: ${s.start.toFixed(1)}–${s.end.toFixed(1)} s${sure}`;
    return part;
  }));
  bar.setAttribute("aria-label", "Timeline: " + segments.map((s) =>
    `${nameOf(s)} from ${s.start.toFixed(1)} to ${s.end.toFixed(1)} seconds`).join(", "));
  $("timeline-start").textContent = `${t0.toFixed(1)} s`;
  $("timeline-end").textContent = `${t1.toFixed(1)} s`;
  const kinds = [...new Map(segments.map((s) => [nameOf(s), s])).values()];
  $("timeline-legend").replaceChildren(...kinds.map((s) => {
    const swatch = el("span");
    swatch.style.backgroundColor = colourOfSegment(s);
    const li = el("li");
    li.append(swatch, document.createTextNode(nameOf(s)));
    return li;
  }));
  $("narrative").textContent = narrative || "";
}

// --- wiring --------------------------------------------------------------------------------------------
function init() {
  $("files").addEventListener("change", (e) => choose(e.target.files));
  $("predict").addEventListener("click", predict);
  $("clear").addEventListener("click", () => { clearChoice(); $("files").value = ""; showError(""); });
  $("webcam").addEventListener("click", () => (live ? stopWebcam() : startWebcam()));
  const drop = $("drop");
  ["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add("dragging");
  }));
  ["dragleave", "drop"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("dragging")));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    choose(e.dataTransfer.files);
  });
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    $("webcam").disabled = true;
    $("webcam").title = "This browser offers no camera here (a camera needs https or localhost).";
  }
  loadStatus();
}

document.addEventListener("DOMContentLoaded", init);
