import { describe, expect, it } from 'vitest';

import { Store } from './store.js';

class Counter extends Store<{ n: number; label: string }> {
  constructor() {
    super({ n: 0, label: 'zero' });
  }
  bump(): void {
    this.set({ n: this.state.n + 1 });
  }
}

describe('Store', () => {
  it('replaces its state on each change and keeps what the patch does not name', () => {
    const counter = new Counter();
    const before = counter.getState();
    counter.bump();
    expect(counter.state).toEqual({ n: 1, label: 'zero' });
    expect(counter.state).not.toBe(before);
    expect(before).toEqual({ n: 0, label: 'zero' });
  });

  it('tells its listeners until they unsubscribe; getState and subscribe work unbound', () => {
    const counter = new Counter();
    const { subscribe, getState } = counter;
    const seen: number[] = [];
    const unsubscribe = subscribe((s) => seen.push(s.n));
    counter.bump();
    unsubscribe();
    counter.bump();
    expect(seen).toEqual([1]);
    expect(getState().n).toBe(2);
  });
});
