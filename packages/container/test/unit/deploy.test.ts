/**
 * The deployment files in docs/deploy, checked without a cluster:
 * - the Kubernetes manifest against Kubernetes' own schema, twice: kubernetes-models (models and
 *   validators generated from the Kubernetes OpenAPI spec, maintained, on npm) checks types,
 *   required fields and enums the way the API server does; TypeScript against the same models'
 *   declarations rejects any field the schema does not have (what `kubectl apply`, strict by
 *   default, rejects and kubernetes-models' validators let through);
 * - both files grant exactly the capabilities the Podman test restores with (src/capabilities.ts),
 *   no seccomp profile, and keep the cold-start fallback and the probes in place.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { RESTORE_CAPABILITIES } from '../../src/capabilities.js';
import { REPO_ROOT } from '../../src/images.js';
import { parseUnit, quadletRunOptions } from '../../src/quadlet.js';

const MANIFEST = join(REPO_ROOT, 'docs/deploy/kubernetes.yaml');
const UNIT = join(REPO_ROOT, 'docs/deploy/blog.container');
const PACKAGE_DIR = join(REPO_ROOT, 'packages/container');

function manifests(text = readFileSync(MANIFEST, 'utf8')): Record<string, unknown>[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors[0]!.message}`);
    return doc.toJS() as Record<string, unknown>;
  });
}

/** kubernetes-models' validator of the document's kind (throws with the path of what is wrong). */
function validateSchema(doc: Record<string, unknown>): void {
  const models: Record<string, (d: never) => { validate(): void }> = {
    'apps/v1/Deployment': (d) => new Deployment(d),
    'v1/Service': (d) => new Service(d),
  };
  const make = models[`${doc.apiVersion}/${doc.kind}`];
  if (!make) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind} in this test`);
  make(doc as never).validate();
}

const TYPES: Record<string, [string, string]> = {
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
};

/** TypeScript's excess-property check of the documents against the models' declarations. */
function unknownFields(docs: readonly Record<string, unknown>[]): string[] {
  const file = join(PACKAGE_DIR, '__deploy_manifest_check__.ts');
  const source = docs
    .map((doc, i) => {
      const [module, type] = TYPES[`${doc.apiVersion}/${doc.kind}`]!;
      return `import type { ${type} as T${i} } from '${module}';\nexport const doc${i}: T${i} = ${JSON.stringify(doc)};`;
    })
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) =>
    name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n').slice(-1)[0]!);
}

const deploymentOf = (docs: Record<string, unknown>[]): IDeployment =>
  docs.find((d) => d.kind === 'Deployment') as unknown as IDeployment;

describe('docs/deploy/kubernetes.yaml', () => {
  const docs = manifests();

  it('is a Deployment and a Service that Kubernetes would accept', () => {
    expect(docs.map((d) => d.kind)).toEqual(['Deployment', 'Service']);
    for (const doc of docs) validateSchema(doc);
    expect(unknownFields(docs)).toEqual([]);
  });

  it('the checks fail on a wrong type and on an unknown field', () => {
    const wrongType = manifests(readFileSync(MANIFEST, 'utf8').replace('replicas: 3', 'replicas: three'));
    expect(() => validateSchema(wrongType[0]!)).toThrow(/spec\/replicas must be integer/);
    const typo = manifests(readFileSync(MANIFEST, 'utf8').replace('seccompProfile:', 'seccompProfil:'));
    validateSchema(typo[0]!); // the generated validators allow unknown fields...
    expect(unknownFields(typo).join('\n')).toMatch(
      /seccompProfil\W* does not exist in type 'ISecurityContext'/,
    ); // ...the types do not
  });

  it('grants exactly the restore capabilities, no seccomp profile, and has the probes', () => {
    const container = deploymentOf(docs).spec?.template.spec?.containers[0];
    if (!container) throw new Error('the Deployment has no container');
    expect(container.securityContext?.capabilities?.drop).toEqual(['ALL']);
    expect([...(container.securityContext?.capabilities?.add ?? [])].sort()).toEqual(
      [...RESTORE_CAPABILITIES].sort(),
    );
    expect(container.securityContext?.seccompProfile?.type).toBe('Unconfined');
    expect(container.securityContext?.privileged).toBeUndefined();
    expect(container.readinessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.startupProbe?.failureThreshold).toBeGreaterThanOrEqual(30); // room for a cold start
    // No command or args: the image's entrypoint restores, and its CMD is the cold start.
    expect(container.command).toBeUndefined();
    expect(container.args).toBeUndefined();
  });
});

describe('docs/deploy/blog.container (Quadlet)', () => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));

  it('maps onto podman run options, every key known', () => {
    const run = quadletRunOptions(unit);
    expect(run.image).toMatch(/^registry\.example:5000\//);
    expect(run.options).toContain('--cap-drop=ALL');
    const added = run.options
      .filter((o) => o.startsWith('--cap-add='))
      .map((o) => o.slice('--cap-add='.length));
    expect(added.sort()).toEqual([...RESTORE_CAPABILITIES].sort());
    expect(run.options.join(' ')).toContain('--security-opt seccomp=unconfined');
    expect(unit.Install).toEqual([['WantedBy', 'multi-user.target']]);
  });

  it('an unknown key is refused', () => {
    expect(() => quadletRunOptions(parseUnit('[Container]\nImage=x\nAddCapabilty=SYS_ADMIN\n'))).toThrow(
      /AddCapabilty= is not a key/,
    );
  });
});
