import type { DetectionEvent } from './detection-events.service';

/** One Server-Sent Events message: optional id, event name and JSON data (one `data:` line). */
export function sseMessage(event: string, data: unknown, id?: string): string {
  // JSON.stringify never emits a raw newline, so one data line always suffices.
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: ignored by clients, keeps proxies and load balancers from closing an idle stream. */
export const SSE_HEARTBEAT = ': heartbeat\n\n';

/** The id of the final message; a client reconnecting with it as Last-Event-ID has everything. */
export const RESULT_EVENT_ID = 'result';

/** A detection event as an SSE message: `status` messages numbered from 1, then `result`. */
export function detectionEventMessage(event: DetectionEvent, sequence: number): string {
  switch (event.type) {
    case 'status':
      return sseMessage('status', { id: event.id, status: event.status, at: event.at }, String(sequence));
    case 'result':
      return sseMessage('result', event.detection, RESULT_EVENT_ID);
  }
}
