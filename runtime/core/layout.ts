// Object keys in the bucket (docs/state-and-commits.md, "Bucket layout"). Pure functions, unit-tested.
import { createHash } from 'node:crypto';
import { ARCHIVE_PREFIX, ENTITIES, ERR_PREFIX, LANDING_PREFIX, type Entity } from './names';

/** S3 keys are at most 1,024 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;

export interface Landing {
  entity: Entity;
  /** path below the entity folder, e.g. "orders_part1.csv" or "2025/03/x.csv" */
  name: string;
}

/** A key S3 takes literally but a file system or a reader would not: ".", ".." or empty segments. */
export const hasDotOrEmptySegment = (key: string) =>
  key.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');

/**
 * The entity of a landing key, or null when it is not under a known entity folder, or when it has
 * a ".", ".." or empty segment ("orders/../products/x.csv" is not a products file, nor an orders one).
 */
export function parseLanding(key: string): Landing | null {
  if (!key.startsWith(LANDING_PREFIX)) return null;
  if (hasDotOrEmptySegment(key.endsWith('/') ? key.slice(0, -1) : key)) return null;
  const rest = key.slice(LANDING_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return null;
  const entity = rest.slice(0, slash) as Entity;
  const name = rest.slice(slash + 1);
  if (!ENTITIES.includes(entity) || !name || name.endsWith('/')) return null;
  return { entity, name };
}

export const landingKey = (l: Landing) => `${LANDING_PREFIX}${l.entity}/${l.name}`;

/** 13 digits, so that key order is time order. */
const stamp = (millis: number) => String(millis).padStart(13, '0');

/** Longest derived prefix + suffix around a name (err/unmatched/order_items/ … /<13 digits>.csv). */
const LONGEST_WRAPPING = `${ERR_PREFIX}unmatched/order_items//0000000000000.csv`.length;

/**
 * The name as it appears inside derived keys: unchanged when every derived key fits in S3's 1,024
 * bytes; otherwise cut on a character boundary and suffixed with a hash of the whole name, so a
 * valid landing key of any length still has an archive and err/ place (the full key is in the note
 * or the object's metadata).
 */
export function storedName(name: string): string {
  const room = MAX_KEY_BYTES - LONGEST_WRAPPING;
  if (Buffer.byteLength(name) <= room) return name;
  const tag = `~${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
  let cut = '';
  for (const ch of name) {
    if (Buffer.byteLength(cut + ch) > room - tag.length) break;
    cut += ch;
  }
  return cut + tag;
}

/** Every version of a file keeps its own archive object: archive/<entity>/<name>/<upload ms>.csv */
export const archivePrefix = (l: Landing) => `${ARCHIVE_PREFIX}${l.entity}/${storedName(l.name)}/`;
export const archiveKey = (l: Landing, millis: number) => `${archivePrefix(l)}${stamp(millis)}.csv`;
export const errRowsKey = (l: Landing, millis: number) =>
  `${ERR_PREFIX}rows/${l.entity}/${storedName(l.name)}/${stamp(millis)}.csv`;
export const errFileKey = (l: Landing, millis: number) =>
  `${ERR_PREFIX}files/${l.entity}/${storedName(l.name)}/${stamp(millis)}`;
/** Unrouted uploads keep their landing key as a path, with ".", ".." and empty segments spelled out. */
export const errUnroutedKey = (key: string, millis: number) => {
  const safe = key
    .split('/')
    .map((seg) => (seg === '' ? '%00' : seg === '.' ? '%2E' : seg === '..' ? '%2E%2E' : seg))
    .join('/');
  return `${ERR_PREFIX}files/unrouted/${storedName(safe)}/${stamp(millis)}`;
};
export const unmatchedKey = (l: Landing, millis: number) =>
  `${ERR_PREFIX}unmatched/${l.entity}/${storedName(l.name)}/${stamp(millis)}.csv`;

export interface ArchivedVersion extends Landing {
  key: string;
  millis: number;
  etag: string;
  size: number;
}

export function parseArchive(key: string): (Landing & { millis: number }) | null {
  const m = /^archive\/([a-z_]+)\/(.+)\/(\d{13})\.csv$/.exec(key);
  if (!m || !ENTITIES.includes(m[1] as Entity)) return null;
  return { entity: m[1] as Entity, name: m[2], millis: Number(m[3]) };
}

/** Version order (SPEC.md): uploaded later wins; ties broken by the landing key. */
export function versionOrder(a: ArchivedVersion, b: ArchivedVersion): number {
  if (a.millis !== b.millis) return a.millis - b.millis;
  const ka = landingKey(a);
  const kb = landingKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
