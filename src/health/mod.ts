/**
 * Keeping stored data whole without the owner's attention: audits of the hired suppliers on a
 * schedule, their health as the owner sees it, and the dismissal (and so replacement and
 * rebuilding) of suppliers that are lost or caught lying.
 * @module
 */
export * from "./auditor.ts";
export * from "./supplier_health.ts";
