// The zone editor: draw a camera's motion zones on its live frame.
//
// The frame comes over the same WebSocket as the grid (one camera, 1 fps). Under the zones,
// two guides: what the motion prefilter will ignore with the zones as drawn (rendered by the
// hub with the pipeline's own mask code: /api/cameras/NAME/draft-mask.png), and where motion
// and alerts actually happened lately (/api/cameras/NAME/activity). Saving goes through the
// zone_edit tool, so the engine's validation applies and its errors show beside the zone.

import { decodeFrame } from "/static/frames.js";
import { getJSON, tool, csrf } from "/static/hub.js";
import { PolygonEditor } from "/static/polygon-editor.js";

const select = document.querySelector("#camera");
const frame = document.querySelector("#frame");
const reasonText = document.querySelector("#frame-reason");
const list = document.querySelector("#zone-list");
const form = document.querySelector("#zone-form");
const nameInput = document.querySelector("#zone-name");
const kindInput = document.querySelector("#zone-kind");
const errorBox = document.querySelector("#zone-error");
const status = document.querySelector("#status");
const showMask = document.querySelector("#show-mask");
const showActivity = document.querySelector("#show-activity");

let camera = select.value;
let saved = []; // the zones as the hub has them
let maskTimer = null;

const editor = new PolygonEditor(document.querySelector("#editor"), {
  onchange: () => {
    renderList();
    scheduleMask();
  },
  onselect: (zone) => {
    form.hidden = !zone;
    if (zone) {
      nameInput.value = zone.name;
      kindInput.value = zone.kind;
      errorBox.textContent = zone.error || "";
    }
    renderList();
  },
});

// -- the live frame ---------------------------------------------------------------------------
let socket = null;
function watch() {
  if (socket) socket.close();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(`${scheme}//${location.host}/ws/cameras`);
  socket.binaryType = "arraybuffer";
  const mine = socket;
  socket.onopen = () => {
    mine.send(JSON.stringify({ csrf })); // the hub asks a browser's socket for the page's token first
    mine.send(JSON.stringify({ cmd: "subscribe", cameras: [camera], fps: 1, width: 960 }));
  };
  socket.onmessage = (event) => {
    if (typeof event.data === "string") {
      // A camera without frames says why (offline: connection refused…) instead of a blank stage.
      const message = JSON.parse(event.data);
      if (message.type === "state" && message.camera === camera && message.state !== "streaming") {
        reasonText.textContent = message.reason || message.state;
      }
      return;
    }
    reasonText.textContent = "";
    const { jpeg } = decodeFrame(new Uint8Array(event.data));
    const previous = frame.src;
    frame.src = URL.createObjectURL(new Blob([jpeg], { type: "image/jpeg" }));
    frame.dataset.frames = String(Number(frame.dataset.frames || 0) + 1);
    if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
  };
  socket.onclose = () => {
    if (socket === mine) setTimeout(() => socket === mine && watch(), 3000);
  };
}

// -- guides -----------------------------------------------------------------------------------
function scheduleMask() {
  clearTimeout(maskTimer);
  maskTimer = setTimeout(refreshMask, 250);
}

async function refreshMask() {
  if (!showMask.checked) {
    editor.underlay = null;
    editor.draw();
    return;
  }
  const zones = editor.zones
    .filter((z) => z.closed && z.points.length >= 3)
    .map((z) => ({ name: z.name, kind: z.kind, points: z.points }));
  const response = await fetch(`/api/cameras/${encodeURIComponent(camera)}/draft-mask.png`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify({ zones }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const current = editor.current;
    if (current) {
      current.error = body?.error?.message || "the hub refused these zones";
      errorBox.textContent = current.error;
      editor.draw();
    }
    return;
  }
  const image = new Image();
  image.onload = () => {
    editor.underlay = image;
    document.querySelector("#stage").dataset.ignored = response.headers.get("X-Ignored-Share") || "0";
    editor.draw();
  };
  image.src = URL.createObjectURL(await response.blob());
}

async function refreshActivity() {
  editor.activity = [];
  if (!showActivity.checked) return editor.draw();
  try {
    const report = await getJSON(`/api/cameras/${encodeURIComponent(camera)}/activity?hours=24`);
    const spots = [];
    const max = Math.max(1, report.motion_max);
    report.motion_heat.forEach((row, gy) =>
      row.forEach((count, gx) => {
        if (count) {
          spots.push({
            x: gx / report.grid_width,
            y: gy / report.grid_height,
            w: 1 / report.grid_width,
            h: 1 / report.grid_height,
            weight: count / max,
          });
        }
      }),
    );
    for (const box of report.alert_boxes) spots.push({ x: box.x, y: box.y, w: box.w, h: box.h, weight: 1 });
    editor.activity = spots;
  } catch (error) {
    status.textContent = `activity: ${error.message}`;
  }
  editor.draw();
}

// -- the list and the form --------------------------------------------------------------------
function renderList() {
  list.replaceChildren(
    ...editor.zones.map((zone, i) => {
      const item = document.createElement("li");
      item.textContent = `${zone.name} (${zone.kind}, ${zone.points.length} points)${zone.closed ? "" : " drawing…"}`;
      item.className = i === editor.selected ? "selected" : "";
      if (zone.error) item.classList.add("has-error");
      item.addEventListener("click", () => editor.select(i));
      return item;
    }),
  );
}

// A camera's zones are copied to another camera: its own name is not offered.
function offerCopyTargets() {
  const target = document.querySelector("#copy-target");
  if (!target) return;
  for (const option of target.options) option.hidden = option.disabled = option.value === camera;
  if (target.value === camera || target.selectedOptions[0]?.disabled) {
    target.value = [...target.options].find((o) => !o.disabled)?.value ?? "";
  }
}

async function load() {
  camera = select.value;
  document.querySelector("#camera-name").textContent = camera;
  offerCopyTargets();
  status.textContent = "";
  try {
    saved = (await tool("zone_edit", { camera, action: "list" })).zones;
  } catch (error) {
    status.textContent = error.message;
    saved = [];
  }
  editor.load(saved);
  editor.underlay = null;
  frame.removeAttribute("src");
  await loadDraft();
  watch();
  refreshMask();
  refreshActivity();
}

// "Exclude this area" on the review page opens /zones?camera=NAME&draft=GROUP: the group's
// boxes, drafted into an exclusion zone by the hub, shown here unsaved for the operator.
async function loadDraft() {
  const params = new URLSearchParams(location.search);
  const group = params.get("draft");
  if (!group || params.get("camera") !== camera) return;
  try {
    const draft = await getJSON(`/api/review/groups/${encodeURIComponent(group)}/exclusion-zone`);
    for (const zone of draft.drafted) {
      editor.snapshot();
      editor.zones.push({ name: zone.name, kind: zone.kind, points: zone.points, closed: true, error: "" });
    }
    editor.select(editor.zones.length - 1);
    status.textContent = `drafted ${draft.drafted.length} exclusion zone(s) from the review group: check and save`;
  } catch (error) {
    status.textContent = `the drafted zone: ${error.message}`;
  }
  history.replaceState(null, "", `/zones?camera=${encodeURIComponent(camera)}`);
}

function uniqueName() {
  const names = new Set(editor.zones.map((z) => z.name));
  for (let i = 1; ; i++) if (!names.has(`zone${i}`)) return `zone${i}`;
}

async function save() {
  const zone = editor.current;
  if (!zone) return;
  zone.name = nameInput.value.trim() || zone.name;
  zone.kind = kindInput.value;
  if (!zone.closed) {
    showError(zone, "close the zone first: click its first point");
    return;
  }
  const known = saved.find((z) => z.name === (zone.savedAs || zone.name));
  const args = { name: zone.name, kind: zone.kind, points: zone.points };
  try {
    if (zone.savedAs && zone.savedAs !== zone.name) {
      await tool("zone_edit", { camera, action: "remove", zone: { name: zone.savedAs } });
      await tool("zone_edit", { camera, action: "add", zone: args });
    } else if (known) {
      await tool("zone_edit", { camera, action: "update", zone: args });
    } else {
      await tool("zone_edit", { camera, action: "add", zone: args });
    }
  } catch (error) {
    showError(zone, error.message);
    return;
  }
  const keep = editor.selected;
  saved = (await tool("zone_edit", { camera, action: "list" })).zones;
  editor.load(saved);
  editor.select(Math.min(keep, editor.zones.length - 1));
  status.textContent = `saved ${args.name}: the running camera uses it now`;
  refreshMask();
}

function showError(zone, message) {
  zone.error = message;
  errorBox.textContent = message;
  editor.draw();
  renderList();
}

async function remove() {
  const zone = editor.current;
  if (!zone) return;
  if (saved.some((z) => z.name === zone.name)) {
    try {
      await tool("zone_edit", { camera, action: "remove", zone: { name: zone.name } });
    } catch (error) {
      showError(zone, error.message);
      return;
    }
  }
  editor.snapshot();
  editor.zones.splice(editor.selected, 1);
  editor.select(editor.zones.length - 1);
  saved = saved.filter((z) => z.name !== zone.name);
  status.textContent = `removed ${zone.name}`;
  editor.changed();
}

async function copy() {
  const target = document.querySelector("#copy-target").value;
  if (target === camera) {
    status.textContent = "pick another camera to copy to";
    return;
  }
  try {
    const theirs = new Set((await tool("zone_edit", { camera: target, action: "list" })).zones.map((z) => z.name));
    for (const zone of saved) {
      const args = { name: zone.name, kind: zone.kind, points: zone.points };
      await tool("zone_edit", { camera: target, action: theirs.has(zone.name) ? "update" : "add", zone: args });
    }
    status.textContent = `copied ${saved.length} zone(s) to ${target}`;
  } catch (error) {
    status.textContent = `copy to ${target}: ${error.message}`;
  }
}

// Remember which saved name a zone had, so a rename is a remove and an add.
const originalLoad = editor.load.bind(editor);
editor.load = (zones) => {
  originalLoad(zones);
  for (const zone of editor.zones) zone.savedAs = zone.name;
};

nameInput.addEventListener("input", () => {
  if (editor.current) {
    editor.current.name = nameInput.value;
    editor.draw();
    renderList();
  }
});
kindInput.addEventListener("change", () => {
  if (editor.current) {
    editor.snapshot();
    editor.current.kind = kindInput.value;
    editor.changed();
  }
});
document.querySelector("#new-zone").addEventListener("click", () => editor.startZone(uniqueName()));
document.querySelector("#save").addEventListener("click", save);
document.querySelector("#remove").addEventListener("click", remove);
document.querySelector("#undo").addEventListener("click", () => editor.undo());
document.querySelector("#copy")?.addEventListener("click", copy);
select.addEventListener("change", () => {
  reasonText.textContent = ""; // the new camera's state comes with its first message
  load();
});
showMask.addEventListener("change", refreshMask);
showActivity.addEventListener("change", refreshActivity);
frame.addEventListener("load", () => editor.draw());

load();
