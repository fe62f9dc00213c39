/**
 * Blobs on a registry: does it have one (HEAD), fetch one (GET, redirects followed), and upload
 * one, monolithically (POST, then PUT with the whole body) or in chunks (POST, PATCH per chunk
 * with Content-Range, PUT with the digest), as the distribution spec describes both.
 */
import type { Readable } from 'node:stream';
import type { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { header } from './http.js';

/** Whether the repository already holds this blob (so pushing it again is not needed). */
export async function hasBlob(client: RegistryClient, digest: string): Promise<boolean> {
  const response = await client.call(
    `${client.repositoryPath}/blobs/${digest}`,
    { method: 'HEAD' },
    [200, 404],
    `checking blob ${digest}`,
  );
  await response.body.dump();
  return response.status === 200;
}

/** The body of a blob, to be verified by the caller (its digest and size). */
export async function fetchBlob(client: RegistryClient, digest: string, what: string): Promise<Readable> {
  const response = await client.call(
    `${client.repositoryPath}/blobs/${digest}`,
    { method: 'GET' },
    [200, 404],
    `downloading ${what}`,
  );
  if (response.status === 404) {
    await response.body.dump();
    throw new RegistryError(
      'blob-missing',
      client.ref.registry,
      `has no blob ${digest} (${what}) in ${client.ref.repository}, although the manifest lists it`,
      {
        hint: 'the registry lost it or garbage-collected it; push the image again',
        status: 404,
      },
    );
  }
  return response.body;
}

export interface BlobSource {
  readonly digest: string;
  readonly size: number;
  /** A fresh stream of bytes start..end (inclusive), or of the whole blob. */
  open(range?: { start: number; end: number }): Readable;
}

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

async function startUpload(client: RegistryClient): Promise<{ location: string; minChunk: number }> {
  const response = await client.call(
    `${client.repositoryPath}/blobs/uploads/`,
    { method: 'POST', headers: { 'content-length': '0' } },
    [202],
    'starting an upload',
  );
  await response.body.dump();
  const minChunk = Number(header(response.headers, 'oci-chunk-min-length') ?? 0);
  return {
    location: client.location(response, 'starting an upload'),
    minChunk: Number.isSafeInteger(minChunk) ? minChunk : 0,
  };
}

/**
 * Uploads a blob. Without `chunkSize` (or when the blob fits in one chunk) in one PUT; else in
 * chunks of `chunkSize` bytes (at least the registry's OCI-Chunk-Min-Length). A failed upload is
 * cancelled (DELETE), as the spec asks, so the registry frees its space.
 */
export async function uploadBlob(
  client: RegistryClient,
  blob: BlobSource,
  chunkSize?: number,
): Promise<void> {
  const started = await startUpload(client);
  const minChunk = started.minChunk;
  let location = started.location;
  const what = `uploading blob ${blob.digest}`;
  try {
    const octets = { 'content-type': 'application/octet-stream' };
    if (chunkSize === undefined || blob.size <= Math.max(chunkSize, minChunk)) {
      const put = await client.call(
        withDigest(location, blob.digest),
        {
          method: 'PUT',
          headers: { ...octets, 'content-length': String(blob.size) },
          body: () => blob.open(),
        },
        [201],
        what,
      );
      await put.body.dump();
      return;
    }
    const step = Math.max(chunkSize, minChunk);
    for (let start = 0; start < blob.size; start += step) {
      const end = Math.min(blob.size, start + step) - 1;
      const patch = await client.call(
        location,
        {
          method: 'PATCH',
          headers: {
            ...octets,
            'content-length': String(end - start + 1),
            'content-range': `${start}-${end}`,
          },
          body: () => blob.open({ start, end }),
        },
        [202],
        `${what} (bytes ${start}-${end})`,
      );
      await patch.body.dump();
      location = client.location(patch, what);
    }
    const put = await client.call(
      withDigest(location, blob.digest),
      { method: 'PUT', headers: { 'content-length': '0' } },
      [201],
      what,
    );
    await put.body.dump();
  } catch (e) {
    await client
      .call(location, { method: 'DELETE' }, [200, 202, 204, 404], 'cancelling an upload')
      .then((r) => r.body.dump())
      .catch(() => undefined);
    throw e;
  }
}
