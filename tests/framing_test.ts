import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  FrameParser,
  type FrameParserOptions,
  type FrameSink,
  isValidCloseCode,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  RSV1,
  RSV2,
  RSV3,
  writeFrame,
} from "../framing/rfc6455.ts";
import { applyMask } from "../framing/_mask.ts";
import {
  assertBytesEqual,
  assertDeepEqualBytes,
  concat,
  encoder,
  hex,
  maskedFrame,
  mulberry32,
  seededBytes,
  splits,
  toHex,
} from "./_helpers.ts";

type Call =
  | ["start", number, boolean, number, number]
  | ["payload", Uint8Array]
  | ["end"]
  | ["error", number, string];

/** A sink that records every call; payload pieces are recorded as copies. */
class RecordingSink implements FrameSink {
  calls: Call[] = [];
  frameStart(opcode: number, fin: boolean, rsv: number, length: number): boolean {
    this.calls.push(["start", opcode, fin, rsv, length]);
    return true;
  }
  framePayload(data: Uint8Array): boolean {
    this.calls.push(["payload", data.slice()]);
    return true;
  }
  frameEnd(): boolean {
    this.calls.push(["end"]);
    return true;
  }
  frameError(closeCode: number, code: string): void {
    this.calls.push(["error", closeCode, code]);
  }
}

/** Calls with consecutive payload pieces joined, so chunkings compare equal. */
function joined(calls: Call[]): Call[] {
  const out: Call[] = [];
  let pieces: Uint8Array[] = [];
  const flush = (): void => {
    if (pieces.length > 0) out.push(["payload", concat(pieces)]);
    pieces = [];
  };
  for (const c of calls) {
    if (c[0] === "payload") {
      pieces.push(c[1]);
    } else {
      flush();
      out.push(c);
    }
  }
  flush();
  return out;
}

function parse(
  chunks: Uint8Array[],
  options: FrameParserOptions,
): { calls: Call[]; parser: FrameParser } {
  const sink = new RecordingSink();
  const parser = new FrameParser(sink, options);
  for (const c of chunks) parser.push(c);
  return { calls: sink.calls, parser };
}

const CLIENT: FrameParserOptions = { expectMasked: true, maxPayload: 1 << 20 };
const SERVER: FrameParserOptions = { expectMasked: false, maxPayload: 1 << 20 };

describe("RFC 6455 §5.7 examples", () => {
  const hello = encoder.encode("Hello");
  const cases: Array<
    { name: string; bytes: Uint8Array; options: FrameParserOptions; calls: Call[] }
  > = [
    {
      name: "a single-frame unmasked text message",
      bytes: hex("81 05 48 65 6c 6c 6f"),
      options: SERVER,
      calls: [["start", OP_TEXT, true, 0, 5], ["payload", hello], ["end"]],
    },
    {
      name: "a single-frame masked text message",
      bytes: hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"),
      options: CLIENT,
      calls: [["start", OP_TEXT, true, 0, 5], ["payload", hello], ["end"]],
    },
    {
      name: "a fragmented unmasked text message",
      bytes: hex("01 03 48 65 6c 80 02 6c 6f"),
      options: SERVER,
      calls: [
        ["start", OP_TEXT, false, 0, 3],
        ["payload", hex("48 65 6c")],
        ["end"],
        ["start", OP_CONTINUATION, true, 0, 2],
        ["payload", hex("6c 6f")],
        ["end"],
      ],
    },
    {
      name: "an unmasked ping",
      bytes: hex("89 05 48 65 6c 6c 6f"),
      options: SERVER,
      calls: [["start", OP_PING, true, 0, 5], ["payload", hello], ["end"]],
    },
    {
      name: "a masked pong",
      bytes: hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"),
      options: CLIENT,
      calls: [["start", OP_PONG, true, 0, 5], ["payload", hello], ["end"]],
    },
    {
      name: "256 bytes of binary data in a single unmasked frame",
      bytes: concat([hex("82 7E 01 00"), seededBytes(1, 256)]),
      options: SERVER,
      calls: [["start", OP_BINARY, true, 0, 256], ["payload", seededBytes(1, 256)], ["end"]],
    },
    {
      name: "64 KiB of binary data in a single unmasked frame",
      bytes: concat([hex("82 7F 00 00 00 00 00 01 00 00"), seededBytes(2, 65536)]),
      options: SERVER,
      calls: [["start", OP_BINARY, true, 0, 65536], ["payload", seededBytes(2, 65536)], ["end"]],
    },
  ];
  for (const c of cases) {
    test(`parser reports ${c.name} identically in every chunking`, () => {
      const chunkings = splits(c.bytes, 7, 8);
      for (const chunks of chunkings) {
        assertDeepEqualBytes(joined(parse(chunks, c.options).calls), c.calls, "parser calls");
      }
    });
  }

  test("writeFrame produces the unmasked and masked Hello frames", () => {
    const out: Uint8Array[] = [];
    writeFrame(out, OP_TEXT, true, 0, encoder.encode("Hello"), null);
    writeFrame(out, OP_TEXT, true, 0, encoder.encode("Hello"), hex("37 fa 21 3d"));
    assert.equal(toHex(out[0]), "81 05 48 65 6c 6c 6f");
    assert.equal(toHex(out[1]), "81 85 37 fa 21 3d 7f 9f 4d 51 58");
  });

  test("writeFrame produces the fragmented Hello, the ping and the masked pong", () => {
    const out: Uint8Array[] = [];
    writeFrame(out, OP_TEXT, false, 0, encoder.encode("Hel"), null);
    writeFrame(out, OP_CONTINUATION, true, 0, encoder.encode("lo"), null);
    writeFrame(out, OP_PING, true, 0, encoder.encode("Hello"), null);
    writeFrame(out, OP_PONG, true, 0, encoder.encode("Hello"), hex("37 fa 21 3d"));
    assert.deepEqual(out.map(toHex), [
      "01 03 48 65 6c",
      "80 02 6c 6f",
      "89 05 48 65 6c 6c 6f",
      "8a 85 37 fa 21 3d 7f 9f 4d 51 58",
    ]);
  });

  test("writeFrame uses the 16-bit header for 256 bytes and the 64-bit one for 64 KiB", () => {
    const out: Uint8Array[] = [];
    writeFrame(out, OP_BINARY, true, 0, new Uint8Array(256), null);
    assert.equal(toHex(concat(out).subarray(0, 4)), "82 7e 01 00");
    out.length = 0;
    writeFrame(out, OP_BINARY, true, 0, new Uint8Array(65536), null);
    assert.equal(toHex(out[0]), "82 7f 00 00 00 00 00 01 00 00");
  });
});

describe("frame header rules", () => {
  /** Parse whole and byte by byte; both must agree; returns the calls. */
  function check(bytes: Uint8Array, options: FrameParserOptions): Call[] {
    const whole = joined(parse([bytes.slice()], options).calls);
    const single = joined(parse(splits(bytes, 1, 0)[1], options).calls);
    assertDeepEqualBytes(single, whole, "calls byte by byte");
    return whole;
  }

  test("parser accepts every defined opcode (0, 1, 2, 8, 9, 10)", () => {
    for (const op of [0, 1, 2, 8, 9, 10]) {
      const calls = check(hex(`${(0x80 | op).toString(16)} 00`), SERVER);
      assert.deepEqual(calls, [["start", op, true, 0, 0], ["end"]], `opcode ${op}`);
    }
  });

  test("parser fails reserved opcodes 3-7 and 11-15 with 1002", () => {
    for (const op of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
      const calls = check(hex(`${(0x80 | op).toString(16)} 00`), SERVER);
      assert.deepEqual(calls, [["error", 1002, "FRAME_OPCODE"]], `opcode ${op}`);
    }
  });

  test("parser fails RSV1, RSV2 and RSV3 with 1002 when no extension allows them", () => {
    for (const rsv of [RSV1, RSV2, RSV3, RSV1 | RSV2 | RSV3]) {
      const calls = check(new Uint8Array([0x81 | rsv, 0x00]), SERVER);
      assert.deepEqual(calls, [["error", 1002, "FRAME_RSV"]], `rsv ${rsv}`);
    }
  });

  test("parser accepts the RSV bits an extension allows and fails the others with 1002", () => {
    const options = { ...SERVER, allowedRsv: RSV1 };
    assert.deepEqual(check(new Uint8Array([0xc1, 0x00]), options), [[
      "start",
      OP_TEXT,
      true,
      RSV1,
      0,
    ], ["end"]]);
    assert.deepEqual(check(new Uint8Array([0xa1, 0x00]), options), [["error", 1002, "FRAME_RSV"]]);
    assert.deepEqual(check(new Uint8Array([0xd1, 0x00]), options), [["error", 1002, "FRAME_RSV"]]);
  });

  test("parser accepts a control frame of 125 bytes", () => {
    const payload = seededBytes(3, 125);
    const calls = check(maskedFrame(OP_PING, payload), CLIENT);
    assertDeepEqualBytes(calls, [["start", OP_PING, true, 0, 125], ["payload", payload], [
      "end",
    ]], "parser calls");
  });

  test("parser fails a control frame longer than 125 bytes with 1002", () => {
    for (const op of [OP_CLOSE, OP_PING, OP_PONG]) {
      // 126 bytes (16-bit length) and 65536 (64-bit length): both fail at the second byte.
      assert.deepEqual(check(maskedFrame(op, new Uint8Array(126)), CLIENT), [[
        "error",
        1002,
        "FRAME_CONTROL",
      ]]);
      assert.deepEqual(check(hex(`${(0x80 | op).toString(16)} ff`), CLIENT), [[
        "error",
        1002,
        "FRAME_CONTROL",
      ]]);
    }
  });

  test("parser fails a control frame without FIN with 1002", () => {
    for (const op of [OP_CLOSE, OP_PING, OP_PONG]) {
      const calls = check(maskedFrame(op, "x", { fin: false }), CLIENT);
      assert.deepEqual(calls, [["error", 1002, "FRAME_CONTROL"]], `opcode ${op}`);
    }
  });

  test("server parser fails an unmasked client frame with 1002 after two bytes", () => {
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, CLIENT);
    parser.push(hex("81 05"));
    assert.deepEqual(sink.calls, [["error", 1002, "FRAME_MASK"]]);
    assert.equal(parser.stopped, true);
  });

  test("client parser fails a masked server frame with 1002", () => {
    assert.deepEqual(check(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), SERVER), [[
      "error",
      1002,
      "FRAME_MASK",
    ]]);
  });

  test("parser fails a 64-bit length with its most significant bit set with 1002", () => {
    assert.deepEqual(check(hex("82 7f 80 00 00 00 00 00 00 01"), SERVER), [[
      "error",
      1002,
      "FRAME_LENGTH",
    ]]);
    assert.deepEqual(check(hex("82 7f ff ff ff ff ff ff ff ff"), SERVER), [[
      "error",
      1002,
      "FRAME_LENGTH",
    ]]);
  });

  test("parser accepts a 64-bit length with the top bit clear up to maxPayload", () => {
    const calls = check(hex("82 7f 00 00 00 00 00 00 00 03 01 02 03"), SERVER);
    assertDeepEqualBytes(calls, [["start", OP_BINARY, true, 0, 3], ["payload", hex("01 02 03")], [
      "end",
    ]], "parser calls");
  });

  test("parser fails a length above maxPayload with 1009 at the header, before any payload", () => {
    const options = { expectMasked: false, maxPayload: 1000 };
    assert.deepEqual(check(hex("82 7e 03 e8"), options), [["start", OP_BINARY, true, 0, 1000]]);
    assert.deepEqual(check(hex("82 7e 03 e9"), options), [["error", 1009, "MESSAGE_TOO_BIG"]]);
    // A huge 64-bit length (2^62) is refused as soon as its header is complete.
    assert.deepEqual(check(hex("82 7f 40 00 00 00 00 00 00 00"), options), [[
      "error",
      1009,
      "MESSAGE_TOO_BIG",
    ]]);
    // Masked: the error comes once the length is in, without waiting for the masking key.
    assert.deepEqual(check(hex("82 fe 03 e9"), { ...options, expectMasked: true }), [
      ["error", 1009, "MESSAGE_TOO_BIG"],
    ]);
  });

  /**
   * Feeds `bytes` one at a time and returns how many were fed when the parser first called its
   * sink, with the calls made by then; also checks that the whole input gives the same calls in
   * every chunking (whole, byte by byte, random splits).
   */
  function firstCallAfter(
    bytes: Uint8Array,
    options: FrameParserOptions,
  ): { fed: number; calls: Call[] } {
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, options);
    let fed = 0;
    while (sink.calls.length === 0 && fed < bytes.length) parser.push(bytes.slice(fed, ++fed));
    const calls = sink.calls.slice();
    const all = joined(parse([bytes.slice()], options).calls);
    for (const chunks of splits(bytes, fed, 6)) {
      assertDeepEqualBytes(joined(parse(chunks, options).calls), all, "parser calls");
    }
    return { fed, calls };
  }

  test("server parser refuses 82 FF 40 00 00 00 00 00 00 00 (2^62 bytes) with 1009 at its 10th byte, before the masking key", () => {
    const header = hex("82 ff 40 00 00 00 00 00 00 00");
    assert.deepEqual(firstCallAfter(header, CLIENT), {
      fed: 10,
      calls: [["error", 1009, "MESSAGE_TOO_BIG"]],
    });
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, CLIENT);
    parser.push(header);
    assert.equal(parser.stopped, true);
    parser.push(hex("01 02 03 04"));
    assert.deepEqual(sink.calls, [["error", 1009, "MESSAGE_TOO_BIG"]]);
  });

  test("server parser refuses 16-bit and 64-bit lengths above maxPayload once the length is complete", () => {
    const options = { expectMasked: true, maxPayload: 1000 };
    // 1001 in 16 bits: refused at the 4th byte; 1000 waits for the masking key and is accepted.
    assert.deepEqual(firstCallAfter(hex("82 fe 03 e9 01 02 03 04"), options), {
      fed: 4,
      calls: [["error", 1009, "MESSAGE_TOO_BIG"]],
    });
    assert.deepEqual(firstCallAfter(hex("82 fe 03 e8 01 02 03 04"), options), {
      fed: 8,
      calls: [["start", OP_BINARY, true, 0, 1000]],
    });
    // 65536 in 64 bits (the RFC 6455 §5.7 64 KiB header, masked): refused at the 10th byte.
    assert.deepEqual(firstCallAfter(hex("82 ff 00 00 00 00 00 01 00 00 01 02 03 04"), options), {
      fed: 10,
      calls: [["error", 1009, "MESSAGE_TOO_BIG"]],
    });
    // 126 in 16 bits over a limit of 125: refused at the 4th byte; 125 in 7 bits over 100: at the 2nd.
    assert.deepEqual(
      firstCallAfter(hex("82 fe 00 7e 01 02 03 04"), { ...options, maxPayload: 125 }),
      {
        fed: 4,
        calls: [["error", 1009, "MESSAGE_TOO_BIG"]],
      },
    );
    assert.deepEqual(firstCallAfter(hex("82 fd 01 02 03 04"), { ...options, maxPayload: 100 }), {
      fed: 2,
      calls: [["error", 1009, "MESSAGE_TOO_BIG"]],
    });
  });

  test("server parser refuses a 64-bit length with its most significant bit set with 1002 before the masking key", () => {
    assert.deepEqual(firstCallAfter(hex("82 ff 80 00 00 00 00 00 00 01 01 02 03 04"), CLIENT), {
      fed: 10,
      calls: [["error", 1002, "FRAME_LENGTH"]],
    });
  });

  test("parser refuses RSV bits, a reserved opcode and a fragmented control frame at the first byte", () => {
    for (const options of [CLIENT, SERVER]) {
      for (
        const [first, code] of [
          [0xc2, "FRAME_RSV"],
          [0x92, "FRAME_RSV"],
          [0x83, "FRAME_OPCODE"],
          [0x0b, "FRAME_OPCODE"],
          [0x08, "FRAME_CONTROL"],
          [0x09, "FRAME_CONTROL"],
          [0x0a, "FRAME_CONTROL"],
        ] as const
      ) {
        const bytes = maskedFrame(OP_BINARY, "abc");
        bytes[0] = first;
        assert.deepEqual(
          firstCallAfter(bytes, options),
          { fed: 1, calls: [["error", 1002, code]] },
          `first byte ${first.toString(16)}`,
        );
      }
    }
  });

  test("parser refuses an extension's RSV bit on a control or continuation frame at the first byte", () => {
    const options = { ...CLIENT, allowedRsv: RSV1 };
    for (const op of [OP_CONTINUATION, OP_CLOSE, OP_PING, OP_PONG]) {
      assert.deepEqual(
        firstCallAfter(maskedFrame(op, "", { rsv: RSV1 }), options),
        { fed: 1, calls: [["error", 1002, "FRAME_RSV"]] },
        `opcode ${op}`,
      );
    }
    for (const op of [OP_TEXT, OP_BINARY]) {
      assert.deepEqual(firstCallAfter(maskedFrame(op, "", { rsv: RSV1 }), options), {
        fed: 6,
        calls: [["start", op, true, RSV1, 0], ["end"]],
      });
    }
  });

  test("parser refuses the wrong mask bit and a control frame over 125 bytes at the second byte", () => {
    assert.deepEqual(firstCallAfter(hex("81 05 48 65 6c 6c 6f"), CLIENT), {
      fed: 2,
      calls: [["error", 1002, "FRAME_MASK"]],
    });
    assert.deepEqual(firstCallAfter(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), SERVER), {
      fed: 2,
      calls: [["error", 1002, "FRAME_MASK"]],
    });
    for (const first of [0x88, 0x89, 0x8a]) {
      assert.deepEqual(firstCallAfter(new Uint8Array([first, 0xfe, 0x00, 0x7e]), CLIENT), {
        fed: 2,
        calls: [["error", 1002, "FRAME_CONTROL"]],
      });
    }
  });

  test("parser reports nothing for a valid header prefix and starts the frame once its masking key is in", () => {
    const frame = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58");
    assert.deepEqual(firstCallAfter(frame, CLIENT), {
      fed: 6,
      calls: [["start", OP_TEXT, true, 0, 5]],
    });
  });

  test("parser ignores every byte after an error", () => {
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, SERVER);
    parser.push(hex("83 00 81 01 41"));
    parser.push(hex("81 01 41"));
    assert.deepEqual(sink.calls, [["error", 1002, "FRAME_OPCODE"]]);
  });

  test("parser pauses when the sink returns false and resume() continues where it left off", () => {
    const calls: string[] = [];
    const sink: FrameSink = {
      frameStart: () => (calls.push("start"), true),
      framePayload: (d) => (calls.push(`payload ${d[0]}`), false),
      frameEnd: () => (calls.push("end"), false),
      frameError: () => void calls.push("error"),
    };
    const parser = new FrameParser(sink, SERVER);
    parser.push(hex("81 01 41 81 01 42"));
    assert.deepEqual(calls, ["start", "payload 65"]);
    assert.equal(parser.paused, true);
    assert.equal(parser.stopped, false);
    parser.resume(); // the owed frameEnd, then pause again
    assert.deepEqual(calls, ["start", "payload 65", "end"]);
    parser.resume();
    parser.resume();
    assert.deepEqual(calls, ["start", "payload 65", "end", "start", "payload 66", "end"]);
    assert.equal(parser.paused, false);
  });

  test("parser stops for good after stop(), even with bytes left", () => {
    const calls: string[] = [];
    const sink: FrameSink = {
      frameStart: () => (calls.push("start"), true),
      framePayload: () => (calls.push("payload"), true),
      frameEnd: () => (calls.push("end"), parser.stop(), false),
      frameError: () => void calls.push("error"),
    };
    // The sink only calls parser.stop() once parsing runs, after the constant is set.
    const parser = new FrameParser(sink, SERVER);
    parser.push(hex("81 01 41 81 01 42"));
    assert.deepEqual(calls, ["start", "payload", "end"]);
    assert.equal(parser.stopped, true);
    assert.equal(parser.paused, false);
    parser.resume();
    parser.push(hex("81 01 43"));
    assert.deepEqual(calls, ["start", "payload", "end"]);
  });

  test("parser hands payload to the sink as views into the chunk, unmasked in place", () => {
    const chunk = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58");
    let view: Uint8Array | null = null;
    const sink: FrameSink = {
      frameStart: () => true,
      framePayload: (d) => ((view = d), true),
      frameEnd: () => true,
      frameError: () => {},
    };
    new FrameParser(sink, CLIENT).push(chunk);
    const v = view as Uint8Array | null;
    assert.ok(v !== null);
    assert.equal(v.buffer, chunk.buffer);
    assert.equal(v.byteOffset, 6);
    assert.equal(toHex(chunk.subarray(6)), toHex(encoder.encode("Hello")));
  });

  test("parser reads many frames of every length encoding back to back in any chunking", () => {
    const sizes = [0, 1, 125, 126, 127, 65535, 65536, 70000];
    const frames = sizes.map((n, i) =>
      maskedFrame(OP_BINARY, seededBytes(10 + i, n), { mask: seededBytes(20 + i, 4) })
    );
    const expected: Call[] = [];
    sizes.forEach((n, i) => {
      expected.push(["start", OP_BINARY, true, 0, n]);
      if (n > 0) expected.push(["payload", seededBytes(10 + i, n)]);
      expected.push(["end"]);
    });
    const all = concat(frames);
    // Byte by byte is covered by the single-frame vectors; skip it for these 200 KB.
    for (const chunks of splits(all, 3, 6).filter((_, i) => i !== 1)) {
      assertDeepEqualBytes(
        joined(parse(chunks, CLIENT).calls),
        expected,
        `parser calls, ${chunks.length} chunks`,
      );
    }
  });
});

describe("masking", () => {
  function reference(src: Uint8Array, key: Uint8Array, offset: number): Uint8Array {
    const out = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i] ^ key[(offset + i) % 4];
    return out;
  }

  test("applyMask in place equals byte-by-byte masking for sizes 0..100, offsets and unaligned views", () => {
    const key = hex("37 fa 21 3d");
    for (let size = 0; size <= 100; size++) {
      for (let start = 0; start < 4; start++) {
        for (const offset of [0, 1, 2, 3, 5, 1002]) {
          const backing = seededBytes(size * 16 + start, size + 8);
          const view = backing.subarray(start, start + size);
          const expected = reference(view, key, offset);
          applyMask(view, view, key, offset);
          assertBytesEqual(view, expected, `size ${size} start ${start} offset ${offset}`);
        }
      }
    }
  });

  test("applyMask into another buffer equals byte-by-byte masking with any relative alignment", () => {
    const key = hex("01 80 ff 7e");
    for (let size = 0; size <= 100; size += 3) {
      for (let s = 0; s < 4; s++) {
        for (let d = 0; d < 4; d++) {
          for (const offset of [0, 1, 2, 3]) {
            const src = seededBytes(size + s, size + 8).subarray(s, s + size);
            const before = src.slice();
            const dst = new Uint8Array(size + 8).subarray(d, d + size);
            applyMask(src, dst, key, offset);
            assertBytesEqual(
              dst,
              reference(src, key, offset),
              `size ${size} src ${s} dst ${d} offset ${offset}`,
            );
            assertBytesEqual(src, before, "the source is left unchanged");
          }
        }
      }
    }
  });

  test("applyMask twice restores the data, split at any point with the right offset", () => {
    const next = mulberry32(9);
    const key = seededBytes(4, 4);
    for (let round = 0; round < 50; round++) {
      const size = next() % 300;
      const original = seededBytes(round, size);
      const data = original.slice();
      applyMask(data, data, key, 0);
      const at = size === 0 ? 0 : next() % size;
      const a = data.subarray(0, at);
      const b = data.subarray(at);
      applyMask(a, a, key, 0);
      applyMask(b, b, key, at);
      assertBytesEqual(data, original, `round ${round}, size ${size}, split at ${at}`);
    }
  });
});

describe("writeFrame", () => {
  for (
    const [n, header] of [
      [0, "82 00"],
      [125, "82 7d"],
      [126, "82 7e 00 7e"],
      [65535, "82 7e ff ff"],
      [65536, "82 7f 00 00 00 00 00 01 00 00"],
    ] as const
  ) {
    test(`writeFrame encodes a ${n}-byte payload with header ${header}`, () => {
      const payload = seededBytes(n, n);
      const out: Uint8Array[] = [];
      const written = writeFrame(out, OP_BINARY, true, 0, payload, null);
      const bytes = concat(out);
      assert.equal(written, bytes.length);
      const h = hex(header);
      assert.equal(toHex(bytes.subarray(0, h.length)), header);
      assert.equal(bytes.length, h.length + n);
      assertBytesEqual(bytes.subarray(h.length), payload, "payload");
    });

    test(`writeFrame masks a ${n}-byte payload so that it unmasks to the payload`, () => {
      const payload = seededBytes(n + 1, n);
      const before = payload.slice();
      const key = hex("a1 b2 c3 d4");
      const out: Uint8Array[] = [];
      const written = writeFrame(out, OP_BINARY, true, 0, payload, key);
      assert.equal(out.length, 1, "a masked frame is one chunk");
      const bytes = out[0];
      const h = hex(header);
      const headerLength = h.length + 4;
      assert.equal(written, headerLength + n);
      assert.equal(bytes[1], h[1] | 0x80);
      assertBytesEqual(bytes.subarray(2, h.length), h.subarray(2), "extended length");
      assertBytesEqual(bytes.subarray(h.length, headerLength), key, "masking key");
      const body = bytes.slice(headerLength);
      for (let i = 0; i < n; i++) body[i] ^= key[i & 3];
      assertBytesEqual(body, payload, "unmasked payload");
      assertBytesEqual(payload, before, "the caller's payload is not modified");
    });
  }

  test("writeFrame returns a large unmasked payload as its own chunk, not copied", () => {
    const payload = new Uint8Array(10000);
    const out: Uint8Array[] = [];
    writeFrame(out, OP_BINARY, true, 0, payload, null);
    assert.equal(out.length, 2);
    assert.equal(out[1], payload);
    assert.equal(toHex(out[0]), "82 7e 27 10");
  });

  test("writeFrame sets FIN, RSV bits and opcode in the first byte", () => {
    const out: Uint8Array[] = [];
    writeFrame(out, OP_TEXT, false, RSV1, new Uint8Array(0), null);
    writeFrame(out, OP_CONTINUATION, true, 0, new Uint8Array(0), null);
    writeFrame(out, OP_CLOSE, true, 0, new Uint8Array(0), null);
    assert.deepEqual(out.map(toHex), ["41 00", "80 00", "88 00"]);
  });

  test("frames from writeFrame parse back to the same frame in any chunking", () => {
    const out: Uint8Array[] = [];
    const payloads = [0, 5, 126, 5000, 65536].map((n) => seededBytes(n + 100, n));
    payloads.forEach((p, i) => writeFrame(out, OP_BINARY, true, 0, p, seededBytes(i, 4)));
    const expected: Call[] = [];
    for (const p of payloads) {
      expected.push(["start", OP_BINARY, true, 0, p.length]);
      if (p.length > 0) expected.push(["payload", p]);
      expected.push(["end"]);
    }
    const all = concat(out);
    for (const chunks of splits(all, 5, 6).filter((_, i) => i !== 1)) {
      assertDeepEqualBytes(
        joined(parse(chunks, CLIENT).calls),
        expected,
        `parser calls, ${chunks.length} chunks`,
      );
    }
  });
});

describe("close codes", () => {
  test("isValidCloseCode accepts 1000-1003, 1007-1014, 3000-4999 and nothing else", () => {
    for (let code = 0; code < 70000; code++) {
      const valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
        (code >= 3000 && code <= 4999);
      assert.equal(isValidCloseCode(code), valid, `code ${code}`);
    }
  });
});
