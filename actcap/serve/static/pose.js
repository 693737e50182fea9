// actcap page, the skeleton: the tracked person's joints (an answer's `pose`, asked with pose=true) drawn over
// the webcam preview and over the frames or video of an upload, so a user sees what the model sees.
// Plain script, no build step; loaded before app.js and live.js, which call drawPose and poseOverlay.
"use strict";

// bones between the 13 joints of `pose.joints` (actcap/pose/skeleton.py JOINTS)
const BONES = [["head", "left_shoulder"], ["head", "right_shoulder"], ["left_shoulder", "right_shoulder"],
  ["left_shoulder", "left_elbow"], ["left_elbow", "left_wrist"], ["right_shoulder", "right_elbow"],
  ["right_elbow", "right_wrist"], ["left_shoulder", "left_hip"], ["right_shoulder", "right_hip"],
  ["left_hip", "right_hip"], ["left_hip", "left_knee"], ["left_knee", "left_ankle"], ["right_hip", "right_knee"],
  ["right_knee", "right_ankle"]];
const POSE_MIN_CONFIDENCE = 0.3; // joints less visible than this are not drawn

// A canvas laid over `media` (an img or video inside a positioned box), sized to it; made once per box.
function poseOverlay(media) {
  let canvas = media.parentElement.querySelector("canvas.skeleton");
  if (!canvas) {
    canvas = document.createElement("canvas");
    canvas.className = "skeleton";
    canvas.setAttribute("aria-hidden", "true");
    media.parentElement.classList.add("has-skeleton");
    media.after(canvas);
  }
  canvas.width = media.clientWidth || media.width || 1;
  canvas.height = media.clientHeight || media.height || 1;
  canvas.style.width = `${canvas.width}px`;
  canvas.style.height = `${canvas.height}px`;
  return canvas;
}

// Draw one frame's points ([[x, y, confidence] per joint], x and y fractions of the frame) on `canvas`;
// nothing (a cleared canvas) when nobody is in view. Returns how many joints were drawn.
function drawPose(canvas, joints, points) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!points) return 0;
  const at = Object.fromEntries(joints.map((name, i) => [name, points[i]]));
  const seen = (p) => p && p[2] >= POSE_MIN_CONFIDENCE;
  const xy = (p) => [p[0] * canvas.width, p[1] * canvas.height];
  ctx.lineWidth = Math.max(2, canvas.width / 160);
  ctx.strokeStyle = "#1fd17a";
  for (const [a, b] of BONES) {
    if (!seen(at[a]) || !seen(at[b])) continue;
    ctx.beginPath();
    ctx.moveTo(...xy(at[a]));
    ctx.lineTo(...xy(at[b]));
    ctx.stroke();
  }
  ctx.fillStyle = "#ffffff";
  let drawn = 0;
  for (const p of points) {
    if (!seen(p)) continue;
    const [x, y] = xy(p);
    ctx.beginPath();
    ctx.arc(x, y, ctx.lineWidth * 1.5, 0, 2 * Math.PI);
    ctx.fill();
    drawn += 1;
  }
  canvas.dataset.joints = String(drawn); // what tests (and curious users) can read back
  return drawn;
}

// The pose of an upload drawn over its strip: each frame image gets its own points; a video shows the points of
// the frame nearest its playback position (the model's frames are spread over the video), and each of the server's
// thumbnails (app.js showPreview, li.thumbnail with data-frame) those of the pose's frame nearest its own.
function showUploadPose(pose, framesReceived) {
  if (!pose) return;
  const nearest = (want) => pose.frames.reduce((b, f, i) => (Math.abs(f - want) < Math.abs(pose.frames[b] - want)
    ? i : b), 0);
  const drawOver = (img, i) => {
    const draw = () => {
      const canvas = poseOverlay(img);
      canvas.dataset.frame = String(pose.frames[i]); // the frame whose points these are
      drawPose(canvas, pose.joints, pose.points[i]);
    };
    if (img.complete) draw(); else img.addEventListener("load", draw, { once: true });
  };
  const video = document.querySelector("#strip video");
  if (video) {
    const draw = () => {
      const share = video.duration ? video.currentTime / video.duration : 0;
      drawPose(poseOverlay(video), pose.joints, pose.points[nearest(share * Math.max(1, framesReceived - 1))]);
    };
    video.ontimeupdate = draw;
    video.onloadeddata = draw;
    draw();
  }
  const thumbnails = Array.from(document.querySelectorAll("#strip li.thumbnail"));
  thumbnails.forEach((li) => drawOver(li.querySelector("img"), nearest(Number(li.dataset.frame))));
  if (video || thumbnails.length) return;
  const items = Array.from(document.querySelectorAll("#strip li"));
  pose.frames.forEach((f, i) => {
    const img = items[f] && items[f].querySelector("img");
    if (img) drawOver(img, i);
  });
}
