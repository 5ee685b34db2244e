/**
 * The state holder every panel section's store builds on: one state object, replaced (never mutated) on
 * each change, and listeners told after. React reads it with useSyncExternalStore, which needs the same
 * object back until something changed, hence the replacement and the bound `subscribe`/`getState`.
 */
export type Listener<S> = (state: S) => void;

export class Store<S extends object> {
  private snapshot: S;
  private readonly listeners = new Set<Listener<S>>();

  constructor(initial: S) {
    this.snapshot = initial;
  }

  get state(): S {
    return this.snapshot;
  }

  /** Bound, so React's useSyncExternalStore can take it as is. */
  readonly getState = (): S => this.snapshot;

  /** Bound, like getState; returns the unsubscribe function. */
  readonly subscribe = (listener: Listener<S>): (() => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  /** Only the store itself changes its state: what may change it is its own methods. */
  protected set(patch: Partial<S>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of this.listeners) listener(this.snapshot);
  }
}
