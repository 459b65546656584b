/**
 * Where a node keeps its small files (identity key, device key, kept records, seq memory): a
 * directory on disk, or memory for tests. Writes are atomic (temporary file, then rename) and
 * secrets are written owner-only (mode 0600) in a directory that is owner-only (0700).
 */

/** A node's small-file storage. */
export interface NodeState {
  /** Reads a file, or null when it does not exist. */
  read(name: string): Promise<Uint8Array | null>;
  /** Writes a file atomically; `secret` makes it owner-only. */
  write(name: string, bytes: Uint8Array, opts?: { secret?: boolean }): Promise<void>;
  /** Removes a file; false when there was none. */
  remove(name: string): Promise<boolean>;
  /** Where the state lives, for messages ("memory" for tests). */
  readonly where: string;
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function checkName(name: string) {
  if (!NAME_RE.test(name)) throw new TypeError(`Invalid state file name "${name}"`);
}

/** State kept in a directory. */
export function dirState(dir: string): NodeState {
  let made = false;
  return {
    where: dir,
    async read(name) {
      checkName(name);
      try {
        return await Deno.readFile(`${dir}/${name}`);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return null;
        throw e;
      }
    },
    async write(name, bytes, opts = {}) {
      checkName(name);
      if (!made) {
        await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
        made = true;
      }
      const tmp = `${dir}/.${name}.${crypto.randomUUID()}.tmp`;
      try {
        await Deno.writeFile(tmp, bytes, { mode: opts.secret ? 0o600 : 0o644 });
        if (opts.secret && Deno.build.os !== "windows") await Deno.chmod(tmp, 0o600);
        await Deno.rename(tmp, `${dir}/${name}`);
      } catch (e) {
        await Deno.remove(tmp).catch(() => {});
        throw e;
      }
    },
    async remove(name) {
      checkName(name);
      try {
        await Deno.remove(`${dir}/${name}`);
        return true;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return false;
        throw e;
      }
    },
  };
}

/** State kept in memory (tests). */
export function memoryState(): NodeState {
  const files = new Map<string, Uint8Array>();
  return {
    where: "memory",
    // Errors arrive as rejections, as with dirState. Copies go through Uint8Array.prototype.slice:
    // a Node Buffer's own slice() is a view.
    read: (name) =>
      later(() => {
        checkName(name);
        const b = files.get(name);
        return b ? Uint8Array.prototype.slice.call(b) : null;
      }),
    write: (name, bytes) =>
      later(() => {
        checkName(name);
        files.set(name, Uint8Array.prototype.slice.call(bytes));
      }),
    remove: (name) =>
      later(() => {
        checkName(name);
        return files.delete(name);
      }),
  };
}

function later<T>(f: () => T): Promise<T> {
  return Promise.resolve().then(f);
}
