import { DefrostError } from '../errors.js';

/**
 * A registry could not be used: unreachable, TLS, credentials, permissions, an HTTP error. What
 * the registry *served* being wrong (a damaged blob, a foreign artifact) is an ImageError instead.
 */
export class RegistryError extends DefrostError {
  /** host[:port] of the registry. */
  readonly registry: string;
  /** HTTP status, when the registry answered. */
  readonly status: number | undefined;

  constructor(
    code: string,
    registry: string,
    message: string,
    o: { hint?: string; cause?: unknown; status?: number } = {},
  ) {
    super(code, `registry ${registry}: ${message}`, o);
    this.registry = registry;
    this.status = o.status;
  }
}

/** A REF that is not a registry reference defrost can use. */
export class ReferenceSyntaxError extends DefrostError {
  readonly reference: string;

  constructor(reference: string, message: string, hint?: string) {
    super('reference-invalid', `${JSON.stringify(reference)} is not a registry reference: ${message}`, {
      hint:
        hint ??
        'write it as REGISTRY[:PORT]/NAME[:TAG][@sha256:DIGEST], e.g. registry.example:5000/team/blog:1',
    });
    this.reference = reference;
  }
}
