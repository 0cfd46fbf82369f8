/** What {@link Inbox.next} resolves with when no item came. */
export type InboxMiss = 'timeout' | 'aborted';

/**
 * A queue that one consumer awaits with a timeout and an abort signal: the bridge between push
 * callbacks (BullMQ events) and async iteration (SSE, GraphQL subscriptions).
 */
export class Inbox<T> {
  private items: T[] = [];
  private wake: (() => void) | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  /** Takes everything queued so far. */
  drain(): T[] {
    const items = this.items;
    this.items = [];
    return items;
  }

  /** The next item, or 'timeout' after `timeoutMs`, or 'aborted' once `signal` aborts. */
  next(signal: AbortSignal, timeoutMs: number): Promise<T | InboxMiss> {
    if (signal.aborted) return Promise.resolve('aborted');
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    return new Promise((resolve) => {
      const finish = (value: T | InboxMiss) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.wake = undefined;
        resolve(value);
      };
      const onAbort = () => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.wake = () => {
        if (this.items.length > 0) finish(this.items.shift() as T);
      };
    });
  }
}
