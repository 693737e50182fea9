// actcap page, Teach view: "Your models" (GET /models, the one in use marked; Use → POST /models/{name}/activate,
// Delete → DELETE /models/{name}) and the running job's Cancel button (DELETE /jobs/{id}).
// Uses app.js's helpers ($, el, pretty, showError, errorText, loadStatus) and teach.js's `teach` (the job).
"use strict";

async function refreshModels() {
  const response = await fetch("/models");
  if (!response.ok) return showError(`Could not list the models: ${await errorText(response)}`);
  const { models } = await response.json();
  const head = el("tr");
  head.append(el("th", "model"), el("th", "actions"), el("th", "taught"), el("th", ""));
  $("models-table").replaceChildren(head, ...models.map((m) => {
    const tr = el("tr", "", m.active ? "in-use" : "");
    const name = el("th", m.name === "default" ? "default (shipped)" : m.name);
    const actions = el("td", m.classes.map(pretty).join(", "));
    const buttons = el("td");
    if (m.active) {
      buttons.append(el("span", "in use", "badge"));
    } else {
      const use = el("button", "Use", "secondary");
      use.type = "button";
      use.dataset.model = m.name;
      use.addEventListener("click", () => switchModel(m.name));
      buttons.append(use);
    }
    if (m.name !== "default") {
      const del = el("button", "Delete", "secondary");
      del.type = "button";
      del.dataset.delete = m.name;
      del.addEventListener("click", () => deleteModel(m.name));
      buttons.append(" ", del);
    }
    tr.append(name, actions, el("td", m.created ? m.created.replace("T", " ").replace("Z", " UTC") : "shipped"),
      buttons);
    return tr;
  }));
}

async function switchModel(name) {
  showError("");
  const response = await fetch(`/models/${encodeURIComponent(name)}/activate`, { method: "POST" });
  if (!response.ok) return showError(`Could not switch models: ${await errorText(response)}`);
  await Promise.all([loadStatus(), refreshModels()]);
}

async function deleteModel(name) {
  showError("");
  if (!window.confirm(`Delete the model “${name}” and its examples? This cannot be undone.`)) return;
  const response = await fetch(`/models/${encodeURIComponent(name)}`, { method: "DELETE" });
  if (!response.ok) return showError(`Could not delete the model: ${await errorText(response)}`);
  await Promise.all([loadStatus(), refreshModels()]);
}

async function cancelJob() {
  if (!teach.job) return;
  $("teach-cancel").disabled = true;
  const response = await fetch(`/jobs/${teach.job}`, { method: "DELETE" });
  if (!response.ok) showError(`Could not cancel the job: ${await errorText(response)}`);
}

function initModels() {
  $("teach-cancel").addEventListener("click", cancelJob);
  $("view-teach").addEventListener("click", refreshModels);
  refreshModels();
}

document.addEventListener("DOMContentLoaded", initModels);
