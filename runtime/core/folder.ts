// A local data folder: DIR/{products,orders,order_items}/<files>, entities in load order, files by name.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ENTITIES, type Entity } from './names';

export interface LocalFile {
  entity: Entity;
  /** file name inside the entity folder */
  name: string;
  path: string;
  size: number;
}

/** The files `kpi compute` and `kpi upload` take (DIR/<entity>/*.csv): a folder gives the same KPIs both ways. */
export const isCsvName = (name: string) => name.toLowerCase().endsWith('.csv');

export function entityFiles(dir: string, keep: (name: string) => boolean): LocalFile[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: not a directory`);
  const out: LocalFile[] = [];
  for (const entity of ENTITIES) {
    const sub = path.join(dir, entity);
    if (!existsSync(sub)) continue;
    for (const name of readdirSync(sub).sort()) {
      const file = path.join(sub, name);
      const st = statSync(file);
      if (st.isFile() && keep(name)) out.push({ entity, name, path: file, size: st.size });
    }
  }
  return out;
}

export const noFilesMessage = (dir: string, what: string) =>
  `${dir}: ${what} (expected files under ${ENTITIES.map((e) => `${e}/`).join(', ')})`;
