/**
 * Manifests on a registry. A fetched manifest is only used once its bytes match its digest: the
 * digest of the REF when pulling by digest, and the Docker-Content-Digest the registry names when
 * pulling by tag; everything else (defrost.json, every file) hangs off that digest.
 */
import { ImageError } from '../errors.js';
import { ARTIFACT_TYPE, MAX_MANIFEST_BYTES, OCI_INDEX, OCI_MANIFEST } from './artifact.js';
import { type RegistryClient, readLimited } from './client.js';
import { sha256Digest } from './digest.js';
import { RegistryError } from './errors.js';
import { header } from './http.js';
import { formatReference, manifestReference } from './reference.js';

/** Media types asked for: ours, and the container ones, so a wrong REF gets a precise refusal. */
const ACCEPT = [
  OCI_MANIFEST,
  OCI_INDEX,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface FetchedManifest {
  readonly bytes: Buffer;
  /** sha256 of `bytes`, checked against what the REF or the registry said it is. */
  readonly digest: string;
}

export async function fetchManifest(client: RegistryClient): Promise<FetchedManifest> {
  const ref = client.ref;
  const shown = formatReference(ref);
  const target = manifestReference(ref);
  const response = await client.call(
    `${client.repositoryPath}/manifests/${target}`,
    { method: 'GET', headers: { accept: ACCEPT } },
    [200, 404],
    `fetching the manifest of ${shown}`,
  );
  if (response.status === 404) {
    await response.body.dump();
    throw new ImageError(
      'image-missing',
      shown,
      `the registry has no ${ref.digest ? 'manifest with this digest' : `tag ${target}`} in ${ref.repository}`,
      {
        hint: 'check the name and tag; `defrost push DIR REF` puts an image there',
      },
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readLimited(response.body, MAX_MANIFEST_BYTES);
  } catch (e) {
    throw new ImageError(
      'artifact-invalid',
      shown,
      `its manifest is larger than ${MAX_MANIFEST_BYTES} bytes`,
      { cause: e },
    );
  }
  const digest = sha256Digest(bytes);
  const claimed = ref.digest ?? header(response.headers, 'docker-content-digest');
  if (claimed !== undefined && claimed !== digest) {
    throw new ImageError(
      'manifest-digest-mismatch',
      shown,
      `the manifest served is not the one asked for: its sha256 is ${digest}, the ${ref.digest ? 'reference' : 'registry'} says ${claimed}; it was damaged or tampered with`,
      {
        hint: 'nothing was written; push the image again from a good copy, and check who can write to the registry',
      },
    );
  }
  return { bytes, digest };
}

/** Stores the manifest under the REF's tag (or its digest); returns the digest. */
export async function putManifest(client: RegistryClient, bytes: Buffer): Promise<string> {
  const digest = sha256Digest(bytes);
  const ref = client.ref;
  if (ref.digest !== undefined && ref.digest !== digest) {
    throw new RegistryError(
      'push-digest-mismatch',
      ref.registry,
      `the image's manifest digest is ${digest}, not the ${ref.digest} of the REF`,
      {
        hint: 'push by tag (REGISTRY/NAME:TAG); a digest names one exact manifest',
      },
    );
  }
  const response = await client
    .call(
      `${client.repositoryPath}/manifests/${manifestReference(ref)}`,
      { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: bytes },
      [201],
      `storing the manifest of ${formatReference(ref)}`,
    )
    .catch((e: unknown) => {
      if (!(e instanceof RegistryError) || e.status !== 400) throw e;
      // Registries that check media types against a list of their own refuse artifact types.
      throw new RegistryError(
        'registry-refused-artifact',
        ref.registry,
        e.message.replace(/^registry \S+: /, ''),
        {
          hint: `the registry may not accept OCI 1.1 artifacts (artifactType ${ARTIFACT_TYPE}); use one that does, such as Docker Hub, GHCR, ECR, Harbor or the distribution registry`,
          status: 400,
          cause: e,
        },
      );
    });
  await response.body.dump();
  const stored = header(response.headers, 'docker-content-digest');
  if (stored !== undefined && stored !== digest) {
    throw new RegistryError(
      'push-digest-mismatch',
      ref.registry,
      `stored the manifest as ${stored}, but its sha256 is ${digest}`,
      {
        hint: 'the registry rewrote the manifest; defrost cannot vouch for what it serves, use another registry',
      },
    );
  }
  return digest;
}
