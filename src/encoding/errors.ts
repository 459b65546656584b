/** Raised when bytes cannot be decoded into the expected structure. */
export class DecodeError extends Error {
  override name = "DecodeError";
}
