// A version's rank: its upload time (13 digits) then its landing key, so that comparing two ranks
// as strings is SPEC's version order (later upload wins; ties broken by the landing key).
import { landingKey, type Landing } from '../core/layout';

export const rankOf = (v: Landing & { millis: number }) =>
  `${String(v.millis).padStart(13, '0')}\u0000${landingKey(v)}`;
