import { describe, expect, it } from 'vitest';

import { inTurn, Turns } from './turns.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('Turns', () => {
  it('runs one piece of work at a time, in the order asked for', async () => {
    const turns = new Turns();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const work = (name: string) => async () => {
      most = Math.max(most, ++running);
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
      running--;
      return name;
    };
    const results = await Promise.all([turns.take(work('a')), turns.take(work('b')), turns.take(work('c'))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(most).toBe(1);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('gives a failure to its caller and goes on with the next turn', async () => {
    const turns = new Turns();
    const failed = turns.take(async () => {
      await tick();
      throw new Error('encoder failed');
    });
    const next = turns.take(async () => 'next ran');
    await expect(failed).rejects.toThrow('encoder failed');
    await expect(next).resolves.toBe('next ran');
  });

  it('runs at once without turns', async () => {
    let running = 0;
    let most = 0;
    const work = async () => {
      most = Math.max(most, ++running);
      await tick();
      running--;
    };
    await Promise.all([inTurn(null, work), inTurn(null, work)]);
    expect(most).toBe(2);
  });
});
