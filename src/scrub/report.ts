// This module is browser compatible.
/**
 * What a scrubber reports about its work for one owner: `mote scrub ls`, the node API and the web
 * UI's Home page show it. Kept apart from the job itself so pages can use the type without the
 * node's modules.
 */

/** One owner's upkeep as its scrubber reports it. */
export interface JobReport {
  owner: string;
  ticket: string;
  expiry: number;
  rounds: number;
  lastRound: number | null;
  /** Suppliers serving the owner that answered in the last round. */
  suppliers: number;
  /** Shards on the keep list, and those held by no live supplier at the end of the last round. */
  shards: number;
  missing: number;
  /** Shards rebuilt and placed (in all), with their bytes. */
  rebuilt: number;
  rebuiltBytes: number;
  /** Contracts this scrubber signed for the owner (hires and renewals). */
  contracts: number;
  /** Live co-scrubbers seen in the last round (this one included). */
  scrubbers: number;
  lastError?: string;
}
