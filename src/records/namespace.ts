// This module is browser compatible.
/**
 * Record namespaces. Each kind of record (identity documents now; catalogs, site names, supplier
 * offers, search keywords and world records later) has a namespace with its own value size limit
 * and value validator. Every node rejects records in namespaces it does not know.
 */
import type { SignedRecord } from "./record.ts";

/** How one kind of record is checked. */
export interface Namespace {
  /** Lower-case name, 1–16 characters of `a-z0-9-`, starting with a letter. */
  readonly name: string;
  /** Largest value accepted, in bytes. */
  readonly maxValue: number;
  /** Largest name accepted, in bytes. */
  readonly maxName: number;
  /** Throws (any error) when the value is not acceptable for this record. */
  readonly validate?: (record: SignedRecord) => void;
}

/** A lookup of namespaces by name. */
export type Namespaces = ReadonlyMap<string, Namespace>;

const NS_RE = /^[a-z][a-z0-9-]{0,15}$/;

/** Checks the form of a namespace name. */
export function isNamespaceName(name: string): boolean {
  return NS_RE.test(name);
}

/** Builds a namespace table, checking names are well-formed and unique. */
export function namespaces(...list: Namespace[]): Namespaces {
  const map = new Map<string, Namespace>();
  for (const ns of list) {
    if (!isNamespaceName(ns.name)) throw new TypeError(`Invalid namespace name "${ns.name}"`);
    if (map.has(ns.name)) throw new TypeError(`Namespace "${ns.name}" is defined twice`);
    map.set(ns.name, ns);
  }
  return map;
}
