import { join } from 'node:path';
import ts from 'typescript';
import { REPO } from './vigil-process.js';

/**
 * Kubernetes manifests checked offline against the API's own schemas, two ways:
 *
 * 1. `kubernetes-models` (and `@kubernetes-models/prometheus-operator` for the CRDs): ajv
 *    validators generated from the Kubernetes OpenAPI document and the prometheus-operator CRD
 *    schemas — types, formats, enums, required fields, as the API server's schema validation.
 * 2. Unknown fields, which those schemas allow (as `kubeconform` does without `-strict`): every
 *    manifest becomes a TypeScript object literal typed with the same packages' interfaces, and
 *    the compiler's excess-property check reports any field the API does not define
 *    (`readOnlyRootFileSystem`, a misplaced `resources`...), as the API server's strict field
 *    validation would.
 */

export type Manifest = { apiVersion: string; kind: string } & Record<string, unknown>;

interface Model {
  /** Module and export of the model class, and of its interface for the strict check. */
  module: string;
  cls: string;
  iface: string;
}

const MODELS: Record<string, Model> = {
  'apps/v1/Deployment': {
    module: 'kubernetes-models/apps/v1/Deployment',
    cls: 'Deployment',
    iface: 'IDeployment',
  },
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', cls: 'ConfigMap', iface: 'IConfigMap' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', cls: 'Service', iface: 'IService' },
  'monitoring.coreos.com/v1/PodMonitor': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor',
    cls: 'PodMonitor',
    iface: 'IPodMonitor',
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    cls: 'PrometheusRule',
    iface: 'IPrometheusRule',
  },
};

function modelOf(m: Manifest): Model {
  const model = MODELS[`${m.apiVersion}/${m.kind}`];
  if (model === undefined) throw new Error(`no schema known here for ${m.apiVersion} ${m.kind}`);
  return model;
}

/** Schema errors of one manifest (empty when valid). */
export async function schemaErrors(m: Manifest): Promise<string[]> {
  const model = modelOf(m);
  const mod = (await import(model.module)) as Record<string, new (data: unknown) => { validate(): void }>;
  try {
    new mod[model.cls]!(m).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** Fields the Kubernetes API does not define, by manifest index, as compiler messages. */
export function unknownFieldErrors(manifests: readonly Manifest[]): string[] {
  const file = join(REPO, 'test/deploy/__manifests__.ts');
  const imports = new Set<string>();
  const decls: string[] = [];
  manifests.forEach((m, i) => {
    const model = modelOf(m);
    imports.add(`import type { ${model.iface} as I${i} } from '${model.module}';`);
    decls.push(`// ${m.kind} ${String((m['metadata'] as { name?: string } | undefined)?.name)}`);
    decls.push(`export const m${i}: I${i} = ${JSON.stringify(m, null, 2)};`);
  });
  const source = [...imports, ...decls].join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === file ? source : readFile(name));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where =
      d.file !== undefined && d.start !== undefined
        ? `${d.file.fileName === file ? 'manifests' : d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1} `
        : '';
    const line =
      d.file?.fileName === file && d.start !== undefined
        ? ` [${source.split('\n')[d.file.getLineAndCharacterOfPosition(d.start).line]?.trim()}]`
        : '';
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}${line}`;
  });
}
