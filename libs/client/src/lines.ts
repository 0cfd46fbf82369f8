/**
 * Splits a byte stream into lines (ended by LF, CRLF or CR), across chunk boundaries; a last line
 * without an end is yielded too. Stopping the iteration early cancels the stream.
 */
export async function* readLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        // A CR that ends the chunk may be the first half of a CRLF split across chunks.
        if (c === 13 && i === buffer.length - 1 && !done) break;
        yield buffer.slice(start, i);
        if (c === 13 && buffer.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
      }
      buffer = buffer.slice(start);
      if (done) {
        if (buffer !== '') yield buffer;
        return;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
