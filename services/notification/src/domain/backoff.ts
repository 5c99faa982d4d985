import { retryDelayMs } from '@platform/bus'

/** How often and how patiently a delivery is tried (NOTIFICATION_MAX_ATTEMPTS and the delays). */
export type RetryPolicy = { maxAttempts: number; baseMs: number; maxMs: number }

/**
 * What follows the `attempts`-th failed attempt (1-based): another try after base × 2^(n-1),
 * capped at `maxMs`, or `dead` once `maxAttempts` attempts have failed. With the defaults
 * (8 attempts, 30 s, 1 h) the last try comes about 64 minutes after the first.
 */
export function afterFailure(attempts: number, policy: RetryPolicy): { status: 'retrying' | 'dead'; delayMs: number } {
  if (attempts >= policy.maxAttempts) return { status: 'dead', delayMs: 0 }
  return { status: 'retrying', delayMs: retryDelayMs(attempts, policy.baseMs, policy.maxMs) }
}
