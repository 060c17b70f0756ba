// A polygon editor on a canvas over a camera frame. Coordinates are 0..1 of the frame.
//
//   click          add a point to the polygon being drawn; click its first point to close it
//   drag           move a point, or the whole polygon (drag inside it)
//   right-click    delete a point (a polygon keeps at least 3)
//   click an edge  insert a point there
//   undo()         step back (Ctrl+Z)
//
// The editor holds every zone of the camera; one is selected (editable), the others are drawn
// dimmed so the operator sees them while drawing. It knows nothing of the hub: the page
// reads `zones`, and is told of changes through `onchange`.

const HIT_PX = 9; // how near the pointer must be to a point or an edge, in CSS pixels

export class PolygonEditor {
  constructor(canvas, { onchange = () => {}, onselect = () => {} } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onchange = onchange;
    this.onselect = onselect;
    this.zones = []; // [{name, kind, points: [[x, y], ...], closed, error}]
    this.selected = -1;
    this.history = [];
    this.drag = null;
    this.hover = null;
    this.underlay = null; // an image drawn under the zones (the motion mask preview)
    this.activity = []; // [{x, y, w, h, weight}] in 0..1: where motion and alerts happened
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("contextmenu", (e) => this.context(e));
    window.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "z" && !e.target.closest("input, select, textarea")) {
        e.preventDefault();
        this.undo();
      }
    });
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  // -- state ------------------------------------------------------------------------------
  load(zones) {
    this.zones = zones.map((z) => ({ ...z, points: z.points.map((p) => [...p]), closed: true, error: "" }));
    this.history = [];
    this.select(this.zones.length ? 0 : -1);
  }

  get current() {
    return this.zones[this.selected] || null;
  }

  select(index) {
    this.selected = index;
    this.onselect(this.current);
    this.draw();
  }

  startZone(name, kind = "exclude") {
    this.snapshot();
    this.zones.push({ name, kind, points: [], closed: false, error: "", fresh: true });
    this.select(this.zones.length - 1);
  }

  snapshot() {
    this.history.push(JSON.stringify({ zones: this.zones, selected: this.selected }));
    if (this.history.length > 100) this.history.shift();
  }

  undo() {
    const last = this.history.pop();
    if (!last) return;
    const state = JSON.parse(last);
    this.zones = state.zones;
    this.selected = Math.min(state.selected, this.zones.length - 1);
    this.onselect(this.current);
    this.changed();
  }

  changed() {
    this.draw();
    this.onchange(this.current);
  }

  // -- pointer ----------------------------------------------------------------------------
  norm(e) {
    const r = this.canvas.getBoundingClientRect();
    return [clamp((e.clientX - r.left) / r.width), clamp((e.clientY - r.top) / r.height)];
  }

  px([x, y]) {
    return [x * this.canvas.clientWidth, y * this.canvas.clientHeight];
  }

  near(a, b) {
    const [ax, ay] = this.px(a);
    const [bx, by] = this.px(b);
    return Math.hypot(ax - bx, ay - by) <= HIT_PX;
  }

  pointAt(p) {
    const zone = this.current;
    if (!zone) return -1;
    return zone.points.findIndex((q) => this.near(p, q));
  }

  edgeAt(p) {
    const zone = this.current;
    if (!zone || !zone.closed) return -1;
    const [x, y] = this.px(p);
    for (let i = 0; i < zone.points.length; i++) {
      const [ax, ay] = this.px(zone.points[i]);
      const [bx, by] = this.px(zone.points[(i + 1) % zone.points.length]);
      if (distanceToSegment(x, y, ax, ay, bx, by) <= HIT_PX) return i;
    }
    return -1;
  }

  zoneAt(p) {
    for (let i = this.zones.length - 1; i >= 0; i--) {
      if (this.zones[i].closed && inside(p, this.zones[i].points)) return i;
    }
    return -1;
  }

  down(e) {
    if (e.button !== 0) return;
    const p = this.norm(e);
    const zone = this.current;
    if (zone && !zone.closed) {
      if (zone.points.length >= 3 && this.near(p, zone.points[0])) {
        this.snapshot();
        zone.closed = true;
        this.changed();
      } else {
        this.snapshot();
        zone.points.push(p);
        this.changed();
      }
      return;
    }
    const point = this.pointAt(p);
    if (point >= 0) {
      this.snapshot();
      this.drag = { kind: "point", index: point };
    } else {
      const edge = this.edgeAt(p);
      if (edge >= 0) {
        this.snapshot();
        zone.points.splice(edge + 1, 0, p);
        this.drag = { kind: "point", index: edge + 1 };
        this.changed();
      } else if (zone && inside(p, zone.points)) {
        this.snapshot();
        this.drag = { kind: "zone", from: p, original: zone.points.map((q) => [...q]) };
      } else {
        const other = this.zoneAt(p);
        if (other >= 0) this.select(other);
        return;
      }
    }
    this.canvas.setPointerCapture(e.pointerId);
  }

  move(e) {
    const p = this.norm(e);
    this.hover = p;
    const zone = this.current;
    if (this.drag && zone) {
      if (this.drag.kind === "point") {
        zone.points[this.drag.index] = p;
      } else {
        const dx = p[0] - this.drag.from[0];
        const dy = p[1] - this.drag.from[1];
        zone.points = shiftWithin(this.drag.original, dx, dy);
      }
      this.draw();
    } else if (zone && !zone.closed) {
      this.draw();
    }
  }

  up(e) {
    if (this.drag) {
      this.drag = null;
      this.changed();
    }
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
  }

  context(e) {
    e.preventDefault();
    const zone = this.current;
    const point = this.pointAt(this.norm(e));
    if (!zone || point < 0) return;
    if (zone.closed && zone.points.length <= 3) {
      zone.error = "a zone needs at least 3 points; remove the zone instead";
      this.changed();
      return;
    }
    this.snapshot();
    zone.points.splice(point, 1);
    this.changed();
  }

  // -- drawing ----------------------------------------------------------------------------
  draw() {
    const { canvas, ctx } = this;
    const w = (canvas.width = canvas.clientWidth * devicePixelRatio);
    const h = (canvas.height = canvas.clientHeight * devicePixelRatio);
    ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const cw = canvas.clientWidth;
    const ch = canvas.clientHeight;
    if (this.underlay) {
      ctx.globalAlpha = 0.45;
      ctx.drawImage(this.underlay, 0, 0, cw, ch);
      ctx.globalAlpha = 1;
    }
    for (const spot of this.activity) {
      ctx.fillStyle = `rgba(255, 170, 0, ${Math.min(0.55, 0.12 + 0.43 * spot.weight)})`;
      ctx.fillRect(spot.x * cw, spot.y * ch, spot.w * cw, spot.h * ch);
    }
    this.zones.forEach((zone, i) => this.drawZone(zone, i === this.selected));
  }

  drawZone(zone, selected) {
    const { ctx } = this;
    if (!zone.points.length) return;
    const exclude = zone.kind === "exclude";
    const colour = zone.error ? "#ff4d4d" : exclude ? "#ff6b6b" : "#4cd07d";
    ctx.lineWidth = selected ? 2.5 : 1.5;
    ctx.strokeStyle = colour;
    ctx.fillStyle = exclude ? "rgba(255, 80, 80, 0.18)" : "rgba(60, 200, 110, 0.15)";
    ctx.globalAlpha = selected ? 1 : 0.55;
    ctx.beginPath();
    zone.points.forEach((p, i) => {
      const [x, y] = this.px(p);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    if (zone.closed) ctx.closePath();
    else if (selected && this.hover) ctx.lineTo(...this.px(this.hover));
    if (zone.closed) ctx.fill();
    ctx.stroke();
    if (selected) {
      zone.points.forEach((p, i) => {
        const [x, y] = this.px(p);
        ctx.beginPath();
        ctx.arc(x, y, i === 0 && !zone.closed ? 7 : 5, 0, Math.PI * 2);
        ctx.fillStyle = i === 0 && !zone.closed ? "#ffffff" : colour;
        ctx.fill();
      });
    }
    const [lx, ly] = this.px(zone.points[0]);
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillStyle = "#ffffff";
    ctx.fillText(zone.name, lx + 8, ly - 8);
    ctx.globalAlpha = 1;
  }
}

// -- geometry: pure, exported for tests/web/js -------------------------------------------------

/** v limited to 0..1. */
export function clamp(v) {
  return Math.min(1, Math.max(0, v));
}

/** Whether point [x, y] is inside the polygon (even-odd rule). */
export function inside([x, y], points) {
  let hit = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

/** The distance from (px, py) to the segment from (ax, ay) to (bx, by). */
export function distanceToSegment(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = dx || dy ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy))) : 0;
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** The polygon moved by (dx, dy) as a whole, as far as it can go while staying in 0..1. */
export function shiftWithin(points, dx, dy) {
  const xs = points.map((q) => q[0]);
  const ys = points.map((q) => q[1]);
  const mx = Math.max(-Math.min(...xs), Math.min(dx, 1 - Math.max(...xs)));
  const my = Math.max(-Math.min(...ys), Math.min(dy, 1 - Math.max(...ys)));
  return points.map(([x, y]) => [x + mx, y + my]);
}
