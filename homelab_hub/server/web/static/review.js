// Daily alert review: the window's alerts grouped by camera and description, in four tabs.
// Decisions go through the alert_review tool (the same call an agent makes); the groups,
// previews and images come from /api/review/* and /api/alerts/ID/image.jpg.

import { getJSON, tool } from "/static/hub.js";

const groupsBox = document.querySelector("#groups");
const template = document.querySelector("#group-card");
const hoursInput = document.querySelector("#hours");
const cameraInput = document.querySelector("#camera");
const status = document.querySelector("#status");
const tabs = [...document.querySelectorAll(".tabs [role=tab]")];
const admin = groupsBox.dataset.admin === "yes";

let state = "needs_review";
let groups = [];

function query(extra = {}) {
  const params = new URLSearchParams({ hours: hoursInput.value, ...extra });
  if (cameraInput.value) params.set("camera", cameraInput.value);
  return params;
}

function time(ts) {
  return ts ? new Date(ts * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" }) : "";
}

async function load() {
  status.textContent = "";
  let window;
  try {
    window = await getJSON(`/api/review/groups?${query()}`);
  } catch (error) {
    status.textContent = error.message;
    return;
  }
  for (const tab of tabs) {
    tab.querySelector(".count").textContent = window.states[tab.dataset.state] ?? 0;
    tab.setAttribute("aria-selected", String(tab.dataset.state === state));
  }
  groups = window.groups.filter((g) => g.state === state);
  groupsBox.replaceChildren(...groups.map(card));
  if (!groups.length) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = `No groups here in the ${hoursInput.selectedOptions[0].textContent}.`;
    if (window.unverified?.length) empty.textContent += " Motion no model judged is below.";
    groupsBox.append(empty);
  }
  showUnverified(window.unverified || []);
  document.querySelector("#select-all").checked = false;
  if (window.last_run?.error) status.textContent = `last model run: ${window.last_run.error}`;
}

// Motion no model judged (a hub without a vision model): by camera, zone and hour, with thumbnails.
function showUnverified(motion) {
  const box = document.querySelector("#unverified");
  box.hidden = !motion.length;
  box.querySelector(".count").textContent = String(motion.reduce((n, g) => n + g.count, 0));
  box.querySelector(".unverified-groups").replaceChildren(
    ...motion.map((g) => {
      const row = document.createElement("article");
      row.className = "card unverified-group";
      row.dataset.camera = g.camera;
      const title = document.createElement("h3");
      const hour = new Date(g.hour * 1000);
      title.textContent = `${g.camera} · ${g.zone} · ${time(g.hour)}–${String((hour.getHours() + 1) % 24).padStart(2, "0")}:00 · ${g.count}×`;
      const samples = document.createElement("div");
      samples.className = "samples";
      for (const url of g.sample_images) {
        const img = document.createElement("img");
        img.loading = "lazy";
        img.src = url;
        img.alt = `unverified motion on ${g.camera}`;
        img.title = "click to enlarge";
        img.addEventListener("click", () => enlarge(url, `${g.camera} · ${g.zone}: unverified motion`));
        samples.append(img);
      }
      row.append(title, samples);
      return row;
    }),
  );
}

// A sample image opens large in a dialog (110 px is too small to judge a shadow from a deer).
const enlarged = document.querySelector("#enlarged");
function enlarge(url, caption) {
  enlarged.querySelector("img").src = url;
  enlarged.querySelector("img").alt = caption;
  enlarged.querySelector(".caption").textContent = caption;
  enlarged.showModal();
}
document.querySelector("#close-enlarged").addEventListener("click", () => enlarged.close());
enlarged.addEventListener("click", (e) => {
  if (e.target === enlarged) enlarged.close();
});

function card(group) {
  const node = template.content.firstElementChild.cloneNode(true);
  node.dataset.group = String(group.id);
  node.querySelector(".camera").textContent = group.camera;
  node.querySelector(".description").textContent = group.description;
  node.querySelector(".count").textContent = `${group.count}×`;
  node.querySelector(".when").textContent = `first ${time(group.first_seen)}, last ${time(group.last_seen)}`;
  const hist = node.querySelector(".hist");
  const top = Math.max(1, ...group.hours);
  group.hours.forEach((n, hour) => {
    const bar = document.createElement("span");
    bar.title = `${hour}:00 — ${n}`;
    bar.style.height = `${Math.round((100 * n) / top)}%`;
    hist.append(bar);
  });
  node.querySelector(".when").textContent += `; busiest hour ${top} alert${top === 1 ? "" : "s"}`;
  for (const url of group.sample_images.slice(0, 3)) {
    const img = document.createElement("img");
    img.loading = "lazy";
    img.src = url;
    img.alt = group.description;
    img.title = "click to enlarge";
    img.addEventListener("click", () => enlarge(url, `${group.camera}: ${group.description}`));
    node.querySelector(".samples").append(img);
  }
  const verdict = group.verdict;
  node.querySelector(".verdict").textContent = verdict
    ? `${verdict.label} (${Math.round(verdict.confidence * 100)}%, ${verdict.model}): ${verdict.reason}`
    : "";
  node.querySelector(".verdict").dataset.label = verdict?.label || "";
  node.querySelector(".note").textContent = group.note || "";
  const pattern = node.querySelector(".pattern");
  pattern.value = group.suppression?.pattern || verdict?.suggested_pattern || "";
  const suppressed = group.state === "suppressed";
  for (const selector of [".pattern", ".expiry", ".preview", ".suppress"]) node.querySelector(selector).hidden = suppressed;
  node.querySelector(".unsuppress").hidden = !suppressed;
  node.querySelector(".ack").hidden = group.state === "acknowledged";
  for (const button of node.querySelectorAll(".suppress, .ack, .unsuppress")) {
    button.disabled = !admin;
    if (!admin) button.title = "needs an admin token";
  }
  if (suppressed && group.suppression) {
    const s = group.suppression;
    node.querySelector(".preview-result").textContent =
      `suppressed by “${s.pattern}”${s.expires ? ` until ${new Date(s.expires).toLocaleString()}` : ""}: ` +
      `${s.hits} hit(s)${s.last_hit ? `, last ${new Date(s.last_hit).toLocaleString()}` : ""}`;
  }
  node.querySelector(".preview").addEventListener("click", () => preview(node, group));
  node.querySelector(".suppress").addEventListener("click", () => suppress(node, group));
  node.querySelector(".ack").addEventListener("click", () => decide("acknowledge", group, node));
  node.querySelector(".unsuppress").addEventListener("click", () => decide("unsuppress", group, node));
  const exclude = node.querySelector(".exclude");
  exclude.href = `/zones?camera=${encodeURIComponent(group.camera)}&draft=${group.id}`;
  return node;
}

async function preview(node, group) {
  const pattern = node.querySelector(".pattern").value.trim();
  const out = node.querySelector(".preview-result");
  if (!pattern) {
    out.textContent = "type a pattern first";
    return null;
  }
  try {
    const seen = await getJSON(`/api/review/preview?${query({ pattern, camera: group.camera })}`);
    out.textContent =
      `“${pattern}” would have silenced ${seen.matched_alerts} of ${seen.window_alerts} alert(s) on ${group.camera} ` +
      `in this window (${seen.matched_groups.length} group(s))${seen.broad ? ` — ${seen.broad}` : ""}`;
    return seen;
  } catch (error) {
    out.textContent = error.message;
    return null;
  }
}

async function suppress(node, group, { quiet = false } = {}) {
  const pattern = node.querySelector(".pattern").value.trim();
  const seen = await preview(node, group);
  if (!seen) return false;
  let confirm = false;
  if (seen.broad) {
    if (quiet || !window.confirm(`${seen.broad}\n\nSuppress anyway?`)) return false;
    confirm = true;
  }
  try {
    await tool("alert_review", {
      action: "suppress",
      group_id: group.id,
      camera: group.camera,
      pattern,
      expires_days: Number(node.querySelector(".expiry").value),
      hours: Number(hoursInput.value),
      confirm,
    });
  } catch (error) {
    node.querySelector(".note").textContent = error.message;
    return false;
  }
  if (!quiet) {
    await load();
    status.textContent = `suppressed “${pattern}” on ${group.camera}`;
  }
  return true;
}

async function decide(action, group, node, { quiet = false } = {}) {
  try {
    await tool("alert_review", { action, group_id: group.id, hours: Number(hoursInput.value) });
  } catch (error) {
    node.querySelector(".note").textContent = error.message;
    return false;
  }
  if (!quiet) {
    await load();
    status.textContent = `${action === "acknowledge" ? "acknowledged" : "restored"}: ${group.description}`;
  }
  return true;
}

function picked() {
  return [...groupsBox.querySelectorAll(".group")]
    .filter((node) => node.querySelector(".pick").checked)
    .map((node) => [node, groups.find((g) => String(g.id) === node.dataset.group)]);
}

async function bulk(kind) {
  const chosen = picked();
  let done = 0;
  for (const [node, group] of chosen) {
    const ok = kind === "ack" ? await decide("acknowledge", group, node, { quiet: true }) : await suppress(node, group, { quiet: true });
    if (ok) done += 1;
  }
  await load();
  status.textContent = `${done} of ${chosen.length} group(s) ${kind === "ack" ? "acknowledged" : "suppressed"}`;
}

async function classify() {
  status.textContent = "asking the review model…";
  try {
    const answer = await tool("alert_review", {
      action: "classify",
      hours: Number(hoursInput.value),
      camera: cameraInput.value,
    });
    await load();
    status.textContent = answer.message || "classified";
  } catch (error) {
    await load();
    status.textContent = `the review model: ${error.message}`;
  }
}

for (const tab of tabs) {
  tab.addEventListener("click", () => {
    state = tab.dataset.state;
    load();
  });
}
hoursInput.addEventListener("change", load);
cameraInput.addEventListener("change", load);
document.querySelector("#classify").addEventListener("click", classify);
document.querySelector("#bulk-ack").addEventListener("click", () => bulk("ack"));
document.querySelector("#bulk-suppress").addEventListener("click", () => bulk("suppress"));
document.querySelector("#select-all").addEventListener("change", (event) => {
  for (const box of groupsBox.querySelectorAll(".pick")) box.checked = event.target.checked;
});

load();
