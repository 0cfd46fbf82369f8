import type { DetectionView } from '@argus/contracts';
import { detectionEventMessage, sseMessage } from './sse';

describe('Server-Sent Events framing', () => {
  it('writes id, event and one data line, then a blank line', () => {
    expect(sseMessage('status', { a: 'line\nbreak' }, '3')).toBe('id: 3\nevent: status\ndata: {"a":"line\\nbreak"}\n\n');
    expect(sseMessage('error', { x: 1 })).toBe('event: error\ndata: {"x":1}\n\n');
  });

  it('numbers status messages and gives the result the id "result"', () => {
    expect(detectionEventMessage({ type: 'status', id: 'd1', status: 'active', at: 't' }, 2)).toBe('id: 2\nevent: status\ndata: {"id":"d1","status":"active","at":"t"}\n\n');
    const detection = { id: 'd1', status: 'completed' } as DetectionView;
    expect(detectionEventMessage({ type: 'result', detection }, 3)).toBe('id: result\nevent: result\ndata: {"id":"d1","status":"completed"}\n\n');
  });
});
