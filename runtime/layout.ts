// Object keys in the bucket (README: "Bucket layout"). Pure functions, unit-tested.
import { ARCHIVE_PREFIX, ENTITIES, ERR_PREFIX, LANDING_PREFIX, type Entity } from './names';

export interface Landing {
  entity: Entity;
  /** path below the entity folder, e.g. "orders_part1.csv" or "2025/03/x.csv" */
  name: string;
}

/** The entity of a landing key, or null when it is not under a known entity folder. */
export function parseLanding(key: string): Landing | null {
  if (!key.startsWith(LANDING_PREFIX)) return null;
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

/** Every version of a file keeps its own archive object: archive/<entity>/<name>/<upload ms>.csv */
export const archivePrefix = (l: Landing) => `${ARCHIVE_PREFIX}${l.entity}/${l.name}/`;
export const archiveKey = (l: Landing, millis: number) => `${archivePrefix(l)}${stamp(millis)}.csv`;
export const errRowsKey = (l: Landing, millis: number) => `${ERR_PREFIX}rows/${l.entity}/${l.name}/${stamp(millis)}.csv`;
export const errFileKey = (l: Landing, millis: number) => `${ERR_PREFIX}files/${l.entity}/${l.name}/${stamp(millis)}`;
export const errUnroutedKey = (key: string, millis: number) => `${ERR_PREFIX}files/unrouted/${key}/${stamp(millis)}`;
export const unmatchedKey = (l: Landing, millis: number) => `${ERR_PREFIX}unmatched/${l.entity}/${l.name}/${stamp(millis)}.csv`;

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
