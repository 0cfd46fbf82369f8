import { Inbox } from './inbox';

describe(Inbox.name, () => {
  it('hands queued items out in order, then waits for the next', async () => {
    const inbox = new Inbox<number>();
    const signal = new AbortController().signal;
    inbox.push(1);
    inbox.push(2);
    expect(await inbox.next(signal, 1000)).toBe(1);
    expect(await inbox.next(signal, 1000)).toBe(2);
    const later = inbox.next(signal, 1000);
    inbox.push(3);
    expect(await later).toBe(3);
  });

  it('says timeout, or aborted once the signal aborts', async () => {
    const inbox = new Inbox<number>();
    const controller = new AbortController();
    expect(await inbox.next(controller.signal, 10)).toBe('timeout');
    const pending = inbox.next(controller.signal, 10000);
    controller.abort();
    expect(await pending).toBe('aborted');
    expect(await inbox.next(controller.signal, 10000)).toBe('aborted');
  });

  it('drains what arrived while nobody waited', () => {
    const inbox = new Inbox<string>();
    inbox.push('a');
    inbox.push('b');
    expect(inbox.drain()).toEqual(['a', 'b']);
    expect(inbox.drain()).toEqual([]);
  });
});
