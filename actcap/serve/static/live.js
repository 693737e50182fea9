// actcap page, the webcam: camera frames → the /stream WebSocket → live captions (rendered by app.js's render).
// Plain script, no build step; loaded after app.js, whose helpers ($, render, showError) it uses.
"use strict";

const LIVE_FPS = 15; // the training clips (UTD-MHAD) run at 15 fps; motion features assume that rate
const LIVE_WIDTH = 640; // frames sent are scaled to at most this width (the training clips are 640x480)
let live = null; // { stream, socket, timer, canvas, busy, ready, lastError }: the running webcam session
// what a close with no reason of its own means (RFC 6455 codes; uvicorn closes with 1012 when it shuts down)
const CLOSE_MEANINGS = { 1001: "the server went away", 1006: "the connection to the server was lost",
  1012: "the server restarted or shut down" };

async function startWebcam() {
  showError("");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (e) {
    showError(`The webcam could not be started: ${e.message || e.name}`);
    return;
  }
  const preview = $("preview");
  preview.srcObject = stream;
  $("live").hidden = false;
  $("live-stats").textContent = "Waiting for the first prediction…"; // not the last session's figures
  $("webcam").textContent = "Stop webcam";
  $("webcam").setAttribute("aria-pressed", "true");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/stream?pose=true`); // each update: the newest skeleton
  live = { stream, socket, timer: null, canvas: document.createElement("canvas"), busy: false };
  socket.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (live && live.socket === socket) live.lastError = msg.type === "error";
    if (msg.type === "prediction") {
      render(msg);
      const overlay = $("preview-skeleton"); // over the preview, mirrored with it by the CSS
      overlay.width = preview.clientWidth || 640;
      overlay.height = preview.clientHeight || 480;
      drawPose(overlay, msg.pose ? msg.pose.joints : [], msg.pose ? msg.pose.points[0] : null);
      $("live-stats").textContent = `${msg.fps.toFixed(1)} frames/s processed · ${updateRate(live)} updates/s · ` +
        `${Math.round(msg.latency_ms)} ms latency${msg.frames_dropped ? ` · ${msg.frames_dropped} frames dropped` : ""}`;
    } else if (msg.type === "error") {
      showError(`Live stream: ${msg.detail}`);
    } else if (msg.type === "ready") {
      live.ready = true;
      sendEachFrame(preview, live);
    }
  };
  socket.onclose = (event) => { // (an error event is always followed by this one)
    if (!live || live.socket !== socket) return; // after Stop; else the server (idle, refused…) or the network
    if (!live.lastError) { // a refusal's error message, just shown, already says why
      const why = event.reason || `${CLOSE_MEANINGS[event.code] || "no reason given"} (code ${event.code})`;
      showError(`${live.ready ? "The live stream was closed" : "The live stream could not connect"}: ${why}`);
    }
    stopWebcam();
  };
}

// Caption updates a second as this page receives them, over the last 3 s (the figure the docs quote).
function updateRate(session) {
  const now = performance.now();
  session.updates = (session.updates || []).filter((t) => now - t <= 3000).concat(now);
  const span = now - session.updates[0];
  return span > 0 ? ((1000 * (session.updates.length - 1)) / span).toFixed(1) : "–";
}

// Each camera frame is sent once, as the camera delivers it, at most LIVE_FPS a second. On a clock instead, a
// camera slower than LIVE_FPS (most webcams in dim light: 5-10 fps) had each frame sent two or three times,
// and the model saw motion that stops and starts. Frames are drawn in the callback: the frame it announces.
function sendEachFrame(preview, session) {
  const period = 1000 / LIVE_FPS;
  if (!preview.requestVideoFrameCallback) { session.timer = setInterval(sendFrame, period); return; }
  let due = 0; // a frame up to 10 ms early still counts: a 30 fps camera gives 15, not 10, a second
  const onFrame = (_, frame) => {
    if (live !== session) return;
    const now = performance.now();
    if (frame.presentedFrames > 1 && now >= due - 10) { // Chromium draws the first one black
      due = Math.max(due, now - 10) + period;
      sendFrame();
    }
    preview.requestVideoFrameCallback(onFrame);
  };
  preview.requestVideoFrameCallback(onFrame);
}

function sendFrame() {
  const preview = $("preview");
  const { socket, canvas } = live || {};
  if (!socket || socket.readyState !== WebSocket.OPEN || live.busy || !preview.videoWidth) return;
  if (socket.bufferedAmount > 512 * 1024) return; // the network is behind: skip rather than queue
  const scale = Math.min(1, LIVE_WIDTH / preview.videoWidth);
  canvas.width = Math.round(preview.videoWidth * scale);
  canvas.height = Math.round(preview.videoHeight * scale);
  // Draw the raw camera frame, NOT the mirrored preview: the CSS transform only flips what is shown on
  // screen. A mirrored frame would swap left and right, so "swipe left" would be predicted as "swipe right".
  canvas.getContext("2d").drawImage(preview, 0, 0, canvas.width, canvas.height);
  live.busy = true;
  canvas.toBlob((blob) => {
    if (live) live.busy = false;
    if (blob && socket.readyState === WebSocket.OPEN) socket.send(blob);
  }, "image/jpeg", 0.8);
}

function stopWebcam() {
  if (!live) return;
  const { stream, socket, timer } = live;
  live = null;
  clearInterval(timer);
  stream.getTracks().forEach((t) => t.stop());
  if (socket.readyState <= WebSocket.OPEN) socket.close(1000, "stopped");
  $("preview").srcObject = null;
  drawPose($("preview-skeleton"), [], null);
  $("live").hidden = true;
  $("webcam").textContent = "Start webcam";
  $("webcam").setAttribute("aria-pressed", "false");
}
