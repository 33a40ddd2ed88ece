// What the pipeline needs from the events that start it: S3 notifications, EventBridge "Object
// Created" events, and our own validate → transform hand-off. Pure, unit-tested.
import { ENV } from '../core/names';

/** A KPI_EVENT that is not JSON: a usage error of the caller. */
export class BadEvent extends Error {}

/** unquote_plus: '+' is a space, %XX a byte of UTF-8; the raw key when it is not valid encoding. */
export function decodeEventKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

export interface EventFields {
  key?: string;
  versionId?: string;
  /** earliest upload time of the files a hand-off event names (ms) */
  uploadedAt?: number;
}

/** What the pipeline needs from an event passed whole as KPI_EVENT (S3 notification, EventBridge, or our hand-off). */
export function parseEvent(json: string | undefined): EventFields {
  if (!json) return {};
  let ev;
  try {
    ev = JSON.parse(json);
  } catch {
    throw new BadEvent(`${ENV.event} is not valid JSON`);
  }
  const obj = ev?.detail?.object ?? ev?.Records?.[0]?.s3?.object;
  // Our hand-off carries the earliest upload time as a string (milliseconds); '' when unknown.
  const at = Number(ev?.detail?.uploaded_at);
  return {
    key: obj?.key,
    versionId: obj?.['version-id'] ?? obj?.versionId,
    uploadedAt: ev?.detail?.uploaded_at && Number.isFinite(at) ? at : undefined,
  };
}

/** The object key of an EventBridge "Object Created" event passed whole as KPI_EVENT. */
export function keyFromEvent(json: string | undefined): string | undefined {
  return parseEvent(json).key;
}
