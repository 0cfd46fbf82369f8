import { readLines } from './lines';
import { parseBlock, parseServerSentEvents } from './sse';
import { stream } from './testing/fake-fetch';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe(readLines.name, () => {
  it('splits on LF, CRLF and CR, across chunks, with a CRLF split between two chunks', async () => {
    expect(await collect(readLines(stream(['a\nb\r', '\nc\rd', 'e\r\n\r\nf'])))).toEqual(['a', 'b', 'c', 'de', '', 'f']);
  });

  it('decodes characters split between chunks', async () => {
    const bytes = new TextEncoder().encode('ü\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 1));
        controller.enqueue(bytes.slice(1));
        controller.close();
      },
    });
    expect(await collect(readLines(body))).toEqual(['ü']);
  });
});

describe('Server-Sent Events parsing', () => {
  it('joins data lines, keeps the last id and event, skips comments and data-less blocks', () => {
    expect(parseBlock('event: a\nid: 7\ndata: x\ndata: y')).toEqual({ event: 'a', id: '7', data: 'x\ny' });
    expect(parseBlock(': only a comment')).toBeNull();
    expect(parseBlock('data:no-space')).toEqual({ event: 'message', id: null, data: 'no-space' });
  });

  it('handles CRLF line ends and messages split across chunks, and drops an unfinished last message', async () => {
    expect(await collect(parseServerSentEvents(stream(['event: s\r\nda', 'ta: 1\r', '\n\r\ndata: 2\n', '\ndata: unfinished'])))).toEqual([
      { event: 's', id: null, data: '1' },
      { event: 'message', id: null, data: '2' },
    ]);
  });
});
