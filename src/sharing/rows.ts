// This module is browser compatible.
/**
 * The rows sharing's API answers and the CLI and web UI show: a long listing's entry, a shared
 * path, a group. One definition for the node (`src/node/sharing.ts`, `catalog/permissions.ts`),
 * the CLI and the pages (which import these as types only).
 */

/** One row of a long listing (`mote ls -l`, `GET /api/v1/perms`, `GET /api/v1/shared/…`). */
export interface LongListing {
  name: string;
  type: "file" | "folder";
  size: number;
  mtime: number;
  versions: number;
  mode: number;
  owner: string;
  group: string | null;
}

/** One shared path (`mote share ls`, `GET /api/v1/shares`). */
export interface ShareRow {
  path: string;
  kind: "folder" | "file";
  readers: string[];
  groups: string[];
  public: boolean;
  /** Who may write (folders shared with `--write`): node ids and group names. */
  writers?: string[];
  writeGroups?: string[];
}

/** One of the owner's groups (`mote group ls`, `GET /api/v1/groups`). */
export interface GroupRow {
  name: string;
  owner: string;
  epoch: number;
  members: string[];
}
