// Pending markers: state/pending/<archive key>, written by validate before it archives a file and
// deleted by the transform once the file's batch is committed. Listing them is how a transform
// finds its work without listing the whole archive.
import { STATE_PREFIX } from '../core/names';

export const PENDING_PREFIX = `${STATE_PREFIX}pending/`;
export const pendingKey = (archiveKey: string) => PENDING_PREFIX + archiveKey;
