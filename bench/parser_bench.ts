/**
 * Frame parser throughput: masked client frames of 16 B, 1 KiB, 64 KiB and 1 MiB fed to a
 * FrameParser with a sink that does nothing, as `deno bench` groups. Each iteration parses
 * about 4 MiB of frames (one chunk), so MB/s = 4 MiB / time per iteration. The frames are
 * re-masked before each iteration because the parser unmasks in place.
 *
 * Run: `deno task bench:parser` (`deno task bench` compares it with ws: bench/framing_bench.ts)
 *
 * @module
 */

import { FrameParser, type FrameSink } from "../framing/rfc6455.ts";

const sink: FrameSink = {
  frameStart: () => true,
  framePayload: () => true,
  frameEnd: () => true,
  frameError: () => {
    throw new Error("unexpected frame error");
  },
};

const TOTAL = 4 * 1024 * 1024;
const KEY = [0x37, 0xfa, 0x21, 0x3d];

function maskedFrames(size: number): { stream: Uint8Array; pristine: Uint8Array; count: number } {
  const header = 2 + (size < 126 ? 0 : size < 65536 ? 2 : 8) + 4;
  const count = Math.max(1, Math.floor(TOTAL / (header + size)));
  const stream = new Uint8Array(count * (header + size));
  for (let f = 0, at = 0; f < count; f++) {
    stream[at] = 0x82;
    if (size < 126) {
      stream[at + 1] = 0x80 | size;
    } else if (size < 65536) {
      stream[at + 1] = 0x80 | 126;
      stream[at + 2] = size >> 8;
      stream[at + 3] = size & 0xff;
    } else {
      stream[at + 1] = 0x80 | 127;
      new DataView(stream.buffer).setUint32(at + 6, size);
    }
    stream.set(KEY, at + header - 4);
    for (let i = 0; i < size; i++) stream[at + header + i] = (i * 7) ^ KEY[i & 3];
    at += header + size;
  }
  return { stream, pristine: stream.slice(), count };
}

const SIZES = [["16 B", 16], ["1 KiB", 1024], ["64 KiB", 65536], ["1 MiB", 1048576]] as const;
for (const [label, size] of SIZES) {
  const { stream, pristine, count } = maskedFrames(size);
  Deno.bench({
    name: `parse ${count} masked ${label} frames (${(stream.length / 1048576).toFixed(2)} MiB)`,
    group: label,
    fn(b) {
      stream.set(pristine);
      const parser = new FrameParser(sink, { expectMasked: true, maxPayload: 1 << 30 });
      b.start();
      parser.push(stream);
      b.end();
    },
  });
}
