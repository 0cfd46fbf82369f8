import { readLines } from './lines';

/** One Server-Sent Events message. */
export interface SseMessage {
  event: string;
  data: string;
  id: string | null;
}

/**
 * Parses a text/event-stream body (per the HTML standard: `event`, `data`, `id` fields; comment
 * lines and `retry` ignored; messages without data skipped; an unfinished last message dropped).
 */
export async function* parseServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  let block: string[] = [];
  for await (const line of readLines(body)) {
    if (line !== '') {
      block.push(line);
      continue;
    }
    const message = parseBlock(block.join('\n'));
    block = [];
    if (message) yield message;
  }
}

/** One block of lines (without its blank-line terminator) as a message, or null when it has no data. */
export function parseBlock(block: string): SseMessage | null {
  let event = 'message';
  let id: string | null = null;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  return data.length > 0 ? { event, data: data.join('\n'), id } : null;
}
