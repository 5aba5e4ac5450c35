/**
 * When to try a deferred mail again: exponential from firstRetrySeconds,
 * capped at maxRetryDelaySeconds, with jitter so that a relay coming back
 * after an outage is not hit by every deferred mail in the same second.
 */
export function retryDelaySeconds(
  attempts: number,
  settings: { firstRetrySeconds: number; maxRetryDelaySeconds: number },
  random: () => number = Math.random,
): number {
  const exponential = settings.firstRetrySeconds * 2 ** Math.max(0, attempts - 1);
  const capped = Math.min(settings.maxRetryDelaySeconds, exponential);
  // ±20 % around the nominal delay, never beyond the cap, never below one second.
  const jittered = capped * (0.8 + 0.4 * random());
  return Math.max(1, Math.min(settings.maxRetryDelaySeconds, Math.round(jittered)));
}
