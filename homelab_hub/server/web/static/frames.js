// The binary frames of /ws/cameras, shared by the grid and the zone editor. Pure: no DOM.

const decoder = new TextDecoder();

/** One binary message: 1 byte N, N bytes of the camera name (UTF-8), then a JPEG. */
export function decodeFrame(bytes) {
  const n = bytes[0];
  return { camera: decoder.decode(bytes.subarray(1, 1 + n)), jpeg: bytes.subarray(1 + n) };
}

/**
 * The camera's full frame size, [width, height], that the hub's encoder writes into a JPEG
 * comment ("hh-size=WxH") right after the start of image; null when there is none.
 */
export function jpegFrameSize(jpeg) {
  if (jpeg[2] !== 0xff || jpeg[3] !== 0xfe) return null;
  const length = (jpeg[4] << 8) | jpeg[5];
  const match = /hh-size=(\d+)x(\d+)/.exec(decoder.decode(jpeg.subarray(6, 4 + length)));
  return match ? [Number(match[1]), Number(match[2])] : null;
}
