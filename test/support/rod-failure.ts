/** For the ROD client tests: what a call that must fail threw, checked to be a RodError. */
import { expect } from 'vitest';
import { RodError } from '../../src/feed/errors.js';

export async function failure(promise: Promise<unknown>): Promise<RodError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(RodError);
    return err as RodError;
  }
  throw new Error('expected a RodError');
}
