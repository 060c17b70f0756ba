// The zone editor's geometry: hit tests and moving a polygon inside the frame.
import assert from "node:assert/strict";
import { test } from "node:test";

import { clamp, distanceToSegment, inside, shiftWithin } from "../../../homelab_hub/server/web/static/polygon-editor.js";

const square = [
  [0.2, 0.2],
  [0.6, 0.2],
  [0.6, 0.6],
  [0.2, 0.6],
];

test("coordinates are kept within the frame", () => {
  assert.deepEqual([clamp(-0.5), clamp(0.25), clamp(1.5)], [0, 0.25, 1]);
});

test("a point is inside a polygon only within its edges", () => {
  assert.equal(inside([0.4, 0.4], square), true);
  assert.equal(inside([0.7, 0.4], square), false);
  assert.equal(inside([0.4, 0.1], square), false);
});

test("a concave polygon's notch is outside it", () => {
  const notched = [
    [0, 0],
    [1, 0],
    [1, 1],
    [0.5, 0.3],
    [0, 1],
  ];
  assert.equal(inside([0.5, 0.8], notched), false);
  assert.equal(inside([0.5, 0.1], notched), true);
});

test("the distance to a segment is to its nearest point, ends included", () => {
  assert.equal(distanceToSegment(5, 3, 0, 0, 10, 0), 3);
  assert.equal(distanceToSegment(13, 4, 0, 0, 10, 0), 5);
  assert.equal(distanceToSegment(3, 4, 0, 0, 0, 0), 5);
});

test("a dragged polygon moves as a whole and stops at the frame's edge", () => {
  assert.deepEqual(
    shiftWithin(square, 0.1, 0).map(([x, y]) => [Math.round(x * 10) / 10, y]),
    [
      [0.3, 0.2],
      [0.7, 0.2],
      [0.7, 0.6],
      [0.3, 0.6],
    ],
  );
  const pushed = shiftWithin(square, 0.9, -0.9);
  assert.deepEqual(pushed.map(([x]) => Math.round(x * 10) / 10), [0.6, 1, 1, 0.6]);
  assert.deepEqual(pushed.map(([, y]) => Math.round(y * 10) / 10), [0, 0, 0.4, 0.4]);
});
