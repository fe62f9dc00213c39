/**
 * How a defrost image is laid out as an OCI artifact (docs/architecture.md, "Images in
 * registries"): an OCI image manifest (image-spec 1.1) with `artifactType` set, the empty config
 * descriptor, and one layer per file of the image directory: `defrost.json` as it is (it holds
 * the sha256 of every file and the signature), then each CRIU file compressed with zstd, named by
 * the `org.opencontainers.image.title` annotation. Identical files give identical blobs, which
 * registries store once, across tags and repositories.
 */
import { ImageError } from '../errors.js';
import { type ImageManifest, isImageFileName, MANIFEST_FILE } from '../image/manifest.js';
import { SHA256_DIGEST } from './reference.js';

export const ARTIFACT_TYPE = 'application/vnd.defrost.image.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MANIFEST_LAYER = 'application/vnd.defrost.image.manifest.v1+json';
export const FILE_LAYER = 'application/vnd.defrost.image.file.v1+zstd';
export const TITLE = 'org.opencontainers.image.title';

/** The empty JSON object every registry stores once; image-spec's config for artifacts without one. */
export const EMPTY_CONFIG_BYTES = Buffer.from('{}');
export const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
} as const;

/** What a registry accepts at most (distribution's default, also GHCR's and ECR's limit). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Far more files than CRIU writes for one process tree; bounds the work a hostile manifest asks. */
const MAX_LAYERS = 10_000;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly data?: string;
}

export interface ArtifactManifest {
  readonly schemaVersion: 2;
  readonly mediaType: typeof OCI_MANIFEST;
  readonly artifactType: typeof ARTIFACT_TYPE;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations: Readonly<Record<string, string>>;
}

export interface BlobRef {
  readonly digest: string;
  readonly size: number;
}

/**
 * The artifact manifest of an image: the same image and blobs always give the same bytes, so a
 * second push of an unchanged image gives the same manifest digest.
 */
export function buildArtifactManifest(
  image: ImageManifest,
  manifestBlob: BlobRef,
  files: ReadonlyMap<string, BlobRef>,
): { manifest: ArtifactManifest; bytes: Buffer } {
  const layer = (mediaType: string, blob: BlobRef, title: string): Descriptor => ({
    mediaType,
    digest: blob.digest,
    size: blob.size,
    annotations: { [TITLE]: title },
  });
  const layers = [layer(MANIFEST_LAYER, manifestBlob, MANIFEST_FILE)];
  for (const name of [...files.keys()].sort()) layers.push(layer(FILE_LAYER, files.get(name)!, name));
  const manifest: ArtifactManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: ARTIFACT_TYPE,
    config: EMPTY_CONFIG,
    layers,
    annotations: {
      'org.opencontainers.image.created': image.createdAt,
      'dev.defrost.image.id': image.imageId,
      'dev.defrost.node.version': image.node.version,
      'dev.defrost.node.arch': image.node.arch,
    },
  };
  return { manifest, bytes: Buffer.from(JSON.stringify(manifest)) };
}

/** What pull needs from a manifest, checked: the defrost.json blob and one blob per file. */
export interface ArtifactLayout {
  readonly manifestLayer: Descriptor;
  readonly files: ReadonlyMap<string, Descriptor>;
}

type Obj = Record<string, unknown>;

function refused(ref: string, message: string, hint?: string): ImageError {
  return new ImageError('artifact-invalid', ref, message, {
    hint:
      hint ??
      'push it again with `defrost push DIR REF`; if it was not pushed by defrost, it is not a defrost image',
  });
}

function descriptor(value: unknown, where: string, ref: string): Descriptor {
  const d = value as Obj | null;
  if (d === null || typeof d !== 'object' || Array.isArray(d))
    throw refused(ref, `${where} is not an object`);
  if (typeof d.mediaType !== 'string') throw refused(ref, `${where} has no mediaType`);
  if (typeof d.digest !== 'string' || !SHA256_DIGEST.test(d.digest)) {
    throw refused(ref, `${where} has no sha256 digest (got ${JSON.stringify(d.digest)?.slice(0, 80)})`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw refused(ref, `${where} has no valid size`);
  }
  const annotations = d.annotations as Obj | undefined;
  if (annotations !== undefined && (annotations === null || typeof annotations !== 'object')) {
    throw refused(ref, `${where} has invalid annotations`);
  }
  return d as unknown as Descriptor;
}

/** Says what a manifest that is not a defrost artifact is, so the message can name it. */
function checkKind(m: Obj, ref: string): void {
  const mediaType = m.mediaType;
  if (mediaType === OCI_INDEX || Array.isArray(m.manifests)) {
    throw refused(ref, 'is an image index (several manifests, e.g. one per platform), not a defrost image');
  }
  if (m.schemaVersion !== 2 || (mediaType !== undefined && mediaType !== OCI_MANIFEST)) {
    throw refused(ref, `is not an OCI image manifest (mediaType ${JSON.stringify(mediaType)})`);
  }
  if (m.artifactType !== ARTIFACT_TYPE) {
    const config = (m.config as Obj | undefined)?.mediaType;
    const kind =
      m.artifactType !== undefined
        ? `artifactType ${JSON.stringify(m.artifactType)}`
        : `config ${JSON.stringify(config)}`;
    throw refused(
      ref,
      `is not a defrost image (${kind}; a defrost image has artifactType ${ARTIFACT_TYPE})`,
      'pull a REF that `defrost push` wrote; container images are run with podman or docker, not restored by defrost',
    );
  }
}

export function parseArtifactManifest(bytes: Buffer, ref: string): ArtifactLayout {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw refused(ref, `its manifest is not JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw refused(ref, 'its manifest is not a JSON object');
  }
  const m = parsed as Obj;
  checkKind(m, ref);
  if (!Array.isArray(m.layers) || m.layers.length === 0 || m.layers.length > MAX_LAYERS) {
    throw refused(ref, `its manifest must list 1 to ${MAX_LAYERS} layers`);
  }
  let manifestLayer: Descriptor | undefined;
  const files = new Map<string, Descriptor>();
  m.layers.forEach((value: unknown, i) => {
    const layer = descriptor(value, `layers[${i}]`, ref);
    const title = layer.annotations?.[TITLE];
    if (layer.mediaType === MANIFEST_LAYER && title === MANIFEST_FILE && manifestLayer === undefined) {
      manifestLayer = layer;
    } else if (layer.mediaType === FILE_LAYER && typeof title === 'string' && isImageFileName(title)) {
      if (files.has(title)) throw refused(ref, `its manifest lists ${title} twice`);
      files.set(title, layer);
    } else {
      throw refused(
        ref,
        `layers[${i}] (${layer.mediaType}, title ${JSON.stringify(title)}) is neither ${MANIFEST_FILE} nor a file of the image`,
      );
    }
  });
  if (!manifestLayer) throw refused(ref, `its manifest has no ${MANIFEST_FILE} layer (${MANIFEST_LAYER})`);
  return { manifestLayer, files };
}
