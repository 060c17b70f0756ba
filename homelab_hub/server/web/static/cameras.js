// The live grid: every camera over ONE WebSocket (/ws/cameras), whatever their number.
// Browsers open about six HTTP/1.1 connections per host, so one MJPEG response per camera
// leaves the rest black; a WebSocket carries them all. Frames arrive as binary messages:
// 1 byte N, N bytes of the camera name (UTF-8), then a JPEG.
//
// Tiles subscribe only while in view and everything pauses while the tab is hidden. After 3
// failed WebSocket attempts tiles fall back to MJPEG (at most 4, each costs a connection) and
// refreshed snapshots for the rest; the WebSocket keeps being retried and takes over again.

import { decodeFrame, jpegFrameSize } from "/static/frames.js";
import { csrf, tool } from "/static/hub.js";

const GRID_WIDTH = 640;
const LARGE_WIDTH = 1280;
const FPS = 2;
const MAX_MJPEG = 4;
const FAILS_BEFORE_FALLBACK = 3;
const SNAPSHOT_EVERY_MS = 2000;

const tiles = new Map(); // camera -> tile element in the grid
for (const tile of document.querySelectorAll("#grid .tile")) tiles.set(tile.dataset.camera, tile);
const large = document.querySelector("#large");
const largeTile = large.querySelector(".tile");
const linkState = document.querySelector("#link-state");
const showZones = document.querySelector("#show-zones");
const showAlerts = document.querySelector("#show-alerts");

const visible = new Set(); // cameras whose tile is in view
let enlarged = null; // the camera open in the dialog
let socket = null;
let open = false;
let failures = 0;
let fallback = false;
let retryTimer = null;
const snapshotTimers = new Map();
const overlays = new Map(); // camera -> {zones, boxes, width, height}

// -- subscriptions ------------------------------------------------------------------------
function wanted() {
  if (document.hidden) return new Map();
  const out = new Map();
  for (const camera of visible) out.set(camera, GRID_WIDTH);
  if (enlarged) out.set(enlarged, LARGE_WIDTH);
  return out;
}

let subscribed = new Map(); // camera -> width, as the server knows it

function sync() {
  if (!open) return;
  const want = wanted();
  const drop = [...subscribed.keys()].filter((c) => !want.has(c));
  if (drop.length) send({ cmd: "unsubscribe", cameras: drop });
  const byWidth = new Map();
  for (const [camera, width] of want) {
    if (subscribed.get(camera) !== width) {
      if (!byWidth.has(width)) byWidth.set(width, []);
      byWidth.get(width).push(camera);
    }
  }
  for (const [width, cameras] of byWidth) send({ cmd: "subscribe", cameras, fps: FPS, width });
  subscribed = want;
}

function send(command) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(command));
}

// -- the WebSocket ------------------------------------------------------------------------
function connect() {
  clearTimeout(retryTimer);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws/cameras`);
  ws.binaryType = "arraybuffer";
  socket = ws;
  let opened = false;
  ws.onopen = () => {
    ws.send(JSON.stringify({ csrf })); // the hub asks a browser's socket for the page's token first
    opened = true;
    open = true;
    failures = 0;
    subscribed = new Map();
    setLink("live");
    if (fallback) leaveFallback();
    sync();
  };
  ws.onmessage = (event) => {
    if (typeof event.data === "string") onText(JSON.parse(event.data));
    else onFrame(new Uint8Array(event.data));
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    open = false;
    subscribed = new Map();
    if (!opened) failures += 1;
    if (failures >= FAILS_BEFORE_FALLBACK && !fallback) enterFallback();
    setLink(fallback ? "fallback" : "reconnecting");
    for (const tile of allTiles()) if (!fallback) setState(tile, "offline");
    retryTimer = setTimeout(connect, Math.min(1000 * 2 ** Math.min(failures, 3), 8000));
  };
}

function onText(message) {
  if (message.type === "state") {
    for (const tile of tilesOf(message.camera)) setState(tile, message.state, message.reason);
  } else if (message.type === "error") {
    console.warn("hub:", message.message);
    if (message.camera) for (const tile of tilesOf(message.camera)) setState(tile, "offline");
  }
}

function onFrame(bytes) {
  const { camera, jpeg } = decodeFrame(bytes);
  noteFrameSize(camera, jpeg);
  for (const tile of tilesOf(camera)) {
    show(tile, URL.createObjectURL(new Blob([jpeg], { type: "image/jpeg" })), true);
    setState(tile, "streaming");
  }
}

// The hub's encoder writes the camera's full frame size into a JPEG comment ("hh-size=WxH"):
// alert boxes are in full-frame pixels.
function noteFrameSize(camera, jpeg) {
  const overlay = overlays.get(camera);
  if (!overlay || overlay.frameWidth) return;
  const size = jpegFrameSize(jpeg);
  if (size) [overlay.frameWidth, overlay.frameHeight] = size;
}

// -- fallback: MJPEG for a few tiles, snapshots for the rest --------------------------------
function enterFallback() {
  fallback = true;
  let mjpeg = 0;
  for (const [camera, tile] of tiles) {
    if (mjpeg < MAX_MJPEG && visible.has(camera)) {
      mjpeg += 1;
      show(tile, `/api/cameras/${encodeURIComponent(camera)}/mjpeg?width=${GRID_WIDTH}&fps=${FPS}`, false);
      tile.dataset.via = "mjpeg";
    } else {
      tile.dataset.via = "snapshot";
      refreshSnapshot(camera, tile);
      snapshotTimers.set(camera, setInterval(() => refreshSnapshot(camera, tile), SNAPSHOT_EVERY_MS));
    }
    setState(tile, "fallback");
  }
}

function leaveFallback() {
  fallback = false;
  for (const timer of snapshotTimers.values()) clearInterval(timer);
  snapshotTimers.clear();
  for (const tile of tiles.values()) {
    delete tile.dataset.via;
    const img = tile.querySelector("img");
    if (!img.src.startsWith("blob:")) img.removeAttribute("src"); // ends the MJPEG response
    setState(tile, "connecting");
  }
}

function refreshSnapshot(camera, tile) {
  if (document.hidden || !visible.has(camera)) return;
  show(tile, `/api/cameras/${encodeURIComponent(camera)}/snapshot.jpg?width=${GRID_WIDTH}&t=${Date.now()}`, false);
}

// -- tiles --------------------------------------------------------------------------------
function allTiles() {
  return [...tiles.values(), largeTile];
}

function tilesOf(camera) {
  const out = [];
  if (tiles.has(camera)) out.push(tiles.get(camera));
  if (enlarged === camera) out.push(largeTile);
  return out;
}

function show(tile, src, isBlob) {
  const img = tile.querySelector("img");
  const previous = img.src;
  img.src = src;
  if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
  tile.dataset.frames = String(Number(tile.dataset.frames || 0) + (isBlob ? 1 : 0));
}

// reason: the camera's own state as the hub words it ("offline: connection refused (rtsp://…)"),
// shown over the empty frame; a frame clears it.
function setState(tile, state, reason) {
  if (fallback && state !== "fallback" && tile.dataset.via) state = "fallback";
  tile.dataset.state = state;
  tile.querySelector(".state").textContent = state;
  if (state === "streaming") reason = "";
  if (reason !== undefined) tile.querySelector(".reason").textContent = reason;
}

function setLink(state) {
  linkState.textContent = state;
  linkState.className = `badge state-${state === "live" ? "ok" : "degraded"}`;
}

// -- overlays: zones and the last alert's boxes ---------------------------------------------
async function loadOverlay(camera) {
  const overlay = { zones: [], boxes: [] };
  try {
    overlay.zones = (await tool("zone_edit", { camera, action: "list" })).zones;
  } catch (error) {
    console.warn(`zones of ${camera}:`, error.message);
  }
  try {
    const alerts = (await tool("alerts_recent", { camera, limit: 1 })).alerts;
    if (alerts.length) overlay.boxes = alerts[0].boxes;
  } catch (error) {
    console.warn(`alerts of ${camera}:`, error.message);
  }
  overlays.set(camera, overlay);
  for (const tile of tilesOf(camera)) draw(tile, camera);
}

function draw(tile, camera) {
  const img = tile.querySelector("img");
  const canvas = tile.querySelector("canvas");
  const overlay = overlays.get(camera);
  const w = img.clientWidth;
  const h = img.clientHeight;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  if (!overlay || !w || !h) return;
  if (showZones.checked) {
    for (const zone of overlay.zones) {
      ctx.beginPath();
      zone.points.forEach(([x, y], i) => (i ? ctx.lineTo(x * w, y * h) : ctx.moveTo(x * w, y * h)));
      ctx.closePath();
      ctx.fillStyle = zone.kind === "exclude" ? "rgba(220,50,50,0.25)" : "rgba(50,200,90,0.2)";
      ctx.strokeStyle = zone.kind === "exclude" ? "#e04040" : "#30c060";
      ctx.fill();
      ctx.stroke();
    }
  }
  if (showAlerts.checked && overlay.boxes.length && img.naturalWidth) {
    // Alert boxes are in the full frame's pixels; the frame's aspect is the image's.
    const sx = w / (overlay.frameWidth || img.naturalWidth);
    const sy = h / (overlay.frameHeight || img.naturalHeight);
    ctx.strokeStyle = "#ffd000";
    ctx.lineWidth = 2;
    for (const [x, y, bw, bh] of overlay.boxes) ctx.strokeRect(x * sx, y * sy, bw * sx, bh * sy);
  }
}

for (const [camera, tile] of tiles) {
  tile.querySelector("img").addEventListener("load", () => draw(tile, camera));
  tile.addEventListener("click", () => openLarge(camera));
  tile.addEventListener("keydown", (event) => event.key === "Enter" && openLarge(camera));
}
largeTile.querySelector("img").addEventListener("load", () => enlarged && draw(largeTile, enlarged));
showZones.addEventListener("change", () => tiles.forEach((tile, camera) => draw(tile, camera)));
showAlerts.addEventListener("change", () => tiles.forEach((tile, camera) => draw(tile, camera)));

// -- one camera large ---------------------------------------------------------------------
function openLarge(camera) {
  enlarged = camera;
  largeTile.dataset.camera = camera;
  largeTile.querySelector(".name").textContent = camera;
  largeTile.querySelector("img").alt = camera;
  const small = tiles.get(camera);
  setState(largeTile, small?.dataset.state || "connecting", small?.querySelector(".reason").textContent || "");
  large.showModal();
  sync();
}
large.addEventListener("close", () => {
  enlarged = null;
  sync();
});
document.querySelector("#close-large").addEventListener("click", () => large.close());

// -- what is in view ----------------------------------------------------------------------
const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const camera = entry.target.dataset.camera;
    if (entry.isIntersecting) {
      visible.add(camera);
      if (!overlays.has(camera)) loadOverlay(camera);
    } else visible.delete(camera);
  }
  sync();
});
for (const tile of tiles.values()) observer.observe(tile);
document.addEventListener("visibilitychange", sync);

if (tiles.size) connect();
else setLink("no cameras");
