// The /ws/cameras frame format, decoded as the grid and the zone editor decode it.
import assert from "node:assert/strict";
import { test } from "node:test";

import { decodeFrame, jpegFrameSize } from "../../../homelab_hub/server/web/static/frames.js";

function frame(camera, jpeg) {
  const name = new TextEncoder().encode(camera);
  return Uint8Array.from([name.length, ...name, ...jpeg]);
}

function jpegWithComment(text) {
  const body = new TextEncoder().encode(text);
  const length = body.length + 2;
  return Uint8Array.from([0xff, 0xd8, 0xff, 0xfe, length >> 8, length & 0xff, ...body, 0xff, 0xdb, 1, 2]);
}

test("a frame splits into the camera's name and the JPEG after it", () => {
  const { camera, jpeg } = decodeFrame(frame("porch", [0xff, 0xd8, 7, 8]));
  assert.equal(camera, "porch");
  assert.deepEqual([...jpeg], [0xff, 0xd8, 7, 8]);
});

test("a camera name in UTF-8 beyond ASCII comes back whole", () => {
  assert.equal(decodeFrame(frame("Küche ☕", [0xff, 0xd8])).camera, "Küche ☕");
});

test("the full frame size is read from the hub's JPEG comment", () => {
  assert.deepEqual(jpegFrameSize(jpegWithComment("hh-size=2560x1440")), [2560, 1440]);
});

test("a JPEG without the comment, or with another comment, has no frame size", () => {
  assert.equal(jpegFrameSize(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16])), null);
  assert.equal(jpegFrameSize(jpegWithComment("made by a camera")), null);
});
