/**
 * The owner's catalog: folders as separately signed records over encrypted folder objects,
 * file versions, and the root pointer that the identity key alone opens.
 * @module
 */
export * from "./catalog.ts";
export * from "./folder.ts";
export * from "./migrate.ts";
export * from "./records.ts";
export * from "./seal.ts";
