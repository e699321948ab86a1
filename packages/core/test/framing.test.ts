import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import {
  createFramer,
  DEFAULT_MAX_MESSAGE_SIZE,
  type Framer,
  FramingError,
  LengthPrefixedFramer,
  NewlineFramer,
} from '@l7mp/core';

interface Collected {
  messages: Buffer[];
  errors: Error[];
  push(chunk: Buffer): void;
  end(): void;
}

function collect(framer: Framer): Collected {
  const messages: Buffer[] = [];
  const errors: Error[] = [];
  const decoder = framer.createDecoder(
    (message) => messages.push(Buffer.from(message)),
    (error) => errors.push(error),
  );
  return { messages, errors, push: (chunk) => decoder.push(chunk), end: () => decoder.end() };
}

/** Printable messages without newlines, so the same set works for both framings. */
function sampleMessages(count: number): Buffer[] {
  const messages: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const size = 1 + Math.floor(Math.random() * 1400);
    messages.push(Buffer.from(randomBytes(size).toString('base64').slice(0, size)));
  }
  return messages;
}

describe('createFramer', () => {
  it('returns nothing for a plain byte stream', () => {
    expect(createFramer(undefined)).toBeUndefined();
    expect(createFramer('none')).toBeUndefined();
  });

  it('returns the framer named by the setting', () => {
    expect(createFramer('length-prefixed')).toBeInstanceOf(LengthPrefixedFramer);
    expect(createFramer('newline')).toBeInstanceOf(NewlineFramer);
    expect(createFramer('newline')?.framing).toBe('newline');
  });

  it('uses a 16 MiB default limit', () => {
    expect(DEFAULT_MAX_MESSAGE_SIZE).toBe(16 * 1024 * 1024);
    const framer = createFramer('length-prefixed');
    expect(() => framer?.encode(Buffer.alloc(DEFAULT_MAX_MESSAGE_SIZE + 1))).toThrow(FramingError);
  });
});

describe.each(['length-prefixed', 'newline'] as const)('%s framing', (framing) => {
  const framer = createFramer(framing, { maxMessageSize: 4096 });
  if (framer === undefined) throw new Error('no framer');

  it('round-trips many messages written in one chunk', () => {
    const messages = sampleMessages(200);
    const sink = collect(framer);
    sink.push(Buffer.concat(messages.map((m) => framer.encode(m))));
    sink.end();
    expect(sink.errors).toEqual([]);
    expect(sink.messages).toEqual(messages);
  });

  it('round-trips empty messages', () => {
    const sink = collect(framer);
    sink.push(Buffer.concat([framer.encode(Buffer.alloc(0)), framer.encode(Buffer.from('x'))]));
    sink.push(framer.encode(Buffer.alloc(0)));
    expect(sink.messages).toEqual([Buffer.alloc(0), Buffer.from('x'), Buffer.alloc(0)]);
  });

  it('reassembles a stream split at every byte position', () => {
    const messages = [Buffer.from('alpha'), Buffer.alloc(0), Buffer.from('b'), Buffer.from('gamma-delta')];
    const stream = Buffer.concat(messages.map((m) => framer.encode(m)));
    for (let cut = 0; cut <= stream.length; cut++) {
      const sink = collect(framer);
      sink.push(stream.subarray(0, cut));
      sink.push(stream.subarray(cut));
      sink.end();
      expect(sink.errors).toEqual([]);
      expect(sink.messages).toEqual(messages);
    }
  });

  it('reassembles a stream delivered one byte at a time', () => {
    const messages = sampleMessages(20);
    const stream = Buffer.concat(messages.map((m) => framer.encode(m)));
    const sink = collect(framer);
    for (let i = 0; i < stream.length; i++) sink.push(stream.subarray(i, i + 1));
    expect(sink.messages).toEqual(messages);
  });

  it('reassembles a stream cut into random chunks', () => {
    const messages = sampleMessages(300);
    const stream = Buffer.concat(messages.map((m) => framer.encode(m)));
    const sink = collect(framer);
    let offset = 0;
    while (offset < stream.length) {
      const size = 1 + Math.floor(Math.random() * 3000);
      sink.push(stream.subarray(offset, offset + size));
      offset += size;
    }
    expect(sink.messages).toEqual(messages);
  });

  it('refuses to encode a message over the limit', () => {
    expect(() => framer.encode(Buffer.alloc(4097))).toThrow(/4097-byte message, the limit is 4096 bytes/);
    expect(framer.encode(Buffer.alloc(4096, 0x61)).length).toBeGreaterThan(4096);
  });
});

describe('length-prefixed framing', () => {
  const framer = new LengthPrefixedFramer(1024);

  it('writes a 4-byte big-endian length before the message', () => {
    const framed = framer.encode(Buffer.from('hello'));
    expect([...framed.subarray(0, 4)]).toEqual([0, 0, 0, 5]);
    expect(framed.subarray(4).toString()).toBe('hello');
  });

  it('delivers a frame inside one chunk as a view of that chunk (no copy)', () => {
    const chunk = framer.encode(Buffer.from('zero-copy'));
    let seen: Buffer | undefined;
    framer
      .createDecoder(
        (m) => (seen = m),
        () => undefined,
      )
      .push(chunk);
    expect(seen?.buffer).toBe(chunk.buffer);
  });

  it('stops with an error on a frame over the limit instead of buffering it', () => {
    const sink = collect(framer);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff, 0);
    sink.push(Buffer.concat([framer.encode(Buffer.from('ok')), header, Buffer.alloc(100)]));
    expect(sink.messages).toEqual([Buffer.from('ok')]);
    expect(sink.errors).toHaveLength(1);
    expect(sink.errors[0]).toBeInstanceOf(FramingError);
    expect(sink.errors[0]?.message).toMatch(/frame of 4294967295 bytes exceeds the limit of 1024 bytes/);
    sink.push(framer.encode(Buffer.from('ignored')));
    sink.end();
    expect(sink.messages).toHaveLength(1);
    expect(sink.errors).toHaveLength(1);
  });

  it('reports a frame truncated by the end of the stream', () => {
    const sink = collect(framer);
    sink.push(framer.encode(Buffer.from('complete')));
    sink.push(framer.encode(Buffer.from('truncated')).subarray(0, 7));
    sink.end();
    expect(sink.messages).toEqual([Buffer.from('complete')]);
    expect(sink.errors[0]?.message).toMatch(/stream ended inside a frame \(missing 6 of 9 bytes\)/);
  });

  it('reports a header truncated by the end of the stream', () => {
    const sink = collect(framer);
    sink.push(Buffer.from([0, 0]));
    sink.end();
    expect(sink.errors[0]?.message).toMatch(/missing 2 header bytes/);
  });

  it('ends cleanly on a frame boundary', () => {
    const sink = collect(framer);
    sink.push(framer.encode(Buffer.from('x')));
    sink.end();
    expect(sink.errors).toEqual([]);
  });
});

describe('newline framing', () => {
  const framer = new NewlineFramer(16);

  it('terminates each message with a newline', () => {
    expect(framer.encode(Buffer.from('hi')).toString()).toBe('hi\n');
  });

  it('refuses to encode a message that contains a newline', () => {
    expect(() => framer.encode(Buffer.from('a\nb'))).toThrow(FramingError);
    expect(() => framer.encode(Buffer.from('a\nb'))).toThrow(/contains a newline \(at byte 1 of 3\)/);
  });

  it('delivers a partial last line at the end of the stream', () => {
    const sink = collect(framer);
    sink.push(Buffer.from('one\ntw'));
    sink.push(Buffer.from('o'));
    sink.end();
    expect(sink.messages.map(String)).toEqual(['one', 'two']);
    expect(sink.errors).toEqual([]);
  });

  it('keeps a carriage return as part of the message', () => {
    const sink = collect(framer);
    sink.push(Buffer.from('dos\r\n'));
    expect(sink.messages.map(String)).toEqual(['dos\r']);
  });

  it('stops with an error when a line grows over the limit without a newline', () => {
    const sink = collect(framer);
    sink.push(Buffer.from('0123456789'));
    sink.push(Buffer.from('0123456789'));
    expect(sink.errors[0]).toBeInstanceOf(FramingError);
    expect(sink.errors[0]?.message).toMatch(/more than 16 bytes received without a newline/);
    sink.push(Buffer.from('\nlate\n'));
    sink.end();
    expect(sink.messages).toEqual([]);
  });

  it('stops with an error on a complete line over the limit', () => {
    const sink = collect(framer);
    sink.push(Buffer.from('short\n01234567890123456789\nafter\n'));
    expect(sink.messages.map(String)).toEqual(['short']);
    expect(sink.errors[0]?.message).toMatch(/line of 20 bytes exceeds the limit of 16 bytes/);
  });

  it('stops with an error when a line spanning chunks ends over the limit', () => {
    const sink = collect(framer);
    sink.push(Buffer.from('0123456789'));
    sink.push(Buffer.from('0123456\n'));
    expect(sink.errors[0]?.message).toMatch(/line of 17 bytes exceeds the limit/);
  });
});
