import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { schemaErrors, unknownFieldErrors, type Manifest } from '../helpers/k8s-validate.js';
import { PROMTOOL } from '../helpers/prometheus-text.js';
import { CLI, REPO, tempDir } from '../helpers/vigil-process.js';

/**
 * deploy/kubernetes (SPEC §11): every manifest valid against the Kubernetes and
 * prometheus-operator schemas with no unknown field, the sidecar wired as vigil's config says
 * (ports, probes, state dir, downward API, limits), and the PrometheusRule exactly what
 * `vigil rules export` makes of that config today, its rules passing `promtool check rules`.
 */

const DIR = join(REPO, 'deploy/kubernetes');
const read = (f: string): string => readFileSync(join(DIR, f), 'utf8');

interface Kustomization {
  apiVersion: string;
  kind: string;
  resources: string[];
  configMapGenerator: Array<{ name: string; files: string[] }>;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
}
const kustomization = parse(read('kustomization.yaml')) as Kustomization;

/** What `kubectl apply -k` sends: the resources plus the generated ConfigMap. */
function manifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const f of kustomization.resources)
    for (const doc of parseAllDocuments(read(f))) {
      expect(doc.errors, f).toEqual([]);
      out.push(doc.toJS() as Manifest);
    }
  for (const gen of kustomization.configMapGenerator) {
    const data: Record<string, string> = {};
    for (const spec of gen.files) {
      const [key, file] = spec.includes('=') ? spec.split('=') : [spec, spec];
      data[key!] = read(file!);
    }
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name }, data });
  }
  return out;
}

const byKind = (kind: string): Manifest => {
  const m = manifests().find((x) => x.kind === kind);
  if (m === undefined) throw new Error(`no ${kind}`);
  return m;
};

type Container = {
  name: string;
  image: string;
  args?: string[];
  restartPolicy?: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  livenessProbe?: { httpGet: { path: string; port: string | number } };
  readinessProbe?: { httpGet: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
  };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
};
type PodSpec = {
  initContainers?: Container[];
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  terminationGracePeriodSeconds?: number;
  volumes: Array<{ name: string; configMap?: { name: string }; emptyDir?: Record<string, unknown> }>;
};
type Template = {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: PodSpec;
};

const template = (): Template => (byKind('Deployment')['spec'] as { template: Template }).template;
const vigilContainer = (): Container =>
  [...(template().spec.initContainers ?? []), ...template().spec.containers].find((c) => c.name === 'vigil')!;

/** vigil's config as the sidecar sees it, with the downward-API variables set. */
const sidecarConfig = () => {
  const loaded = parseConfigText(read('vigil-config.yaml'), 'vigil-config.yaml', {
    POD_NAME: 'pricing-7f9c-abcde',
    POD_NAMESPACE: 'shop',
  });
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
};

describe('deploy/kubernetes layout', () => {
  it('is a kustomization that names every manifest in the folder', () => {
    expect(kustomization.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
    expect(kustomization.kind).toBe('Kustomization');
    const known = new Set([
      'apiVersion',
      'kind',
      'resources',
      'configMapGenerator',
      'images',
      'namespace',
      'labels',
    ]);
    for (const k of Object.keys(kustomization)) expect(known, `kustomization key ${k}`).toContain(k);
    const used = new Set([
      'kustomization.yaml',
      ...kustomization.resources,
      ...kustomization.configMapGenerator.flatMap((g) => g.files.map((f) => f.split('=').pop()!)),
    ]);
    const yamlFiles = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
    expect(yamlFiles.sort()).toEqual([...used].sort());
    expect(kustomization.images?.map((i) => i.name)).toContain(vigilContainer().image.split(':')[0]);
  });
});

describe('deploy/kubernetes manifests against the Kubernetes schemas', () => {
  it('all validate against the API schemas (kubernetes-models, prometheus-operator CRDs)', async () => {
    const all = manifests();
    expect(all.map((m) => m.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'PodMonitor',
      'PrometheusRule',
    ]);
    for (const m of all) expect(await schemaErrors(m), `${m.kind}`).toEqual([]);
  });

  it('have no field the API does not define', () => {
    expect(unknownFieldErrors(manifests())).toEqual([]);
  });

  it('the validators do reject broken manifests', async () => {
    const d = structuredClone(byKind('Deployment')) as Manifest & { spec: { template: Template } };
    d.spec.template.spec.containers[0]!.ports![0]!.containerPort = 'http' as unknown as number;
    expect((await schemaErrors(d)).join()).toMatch(/containerPort must be integer/);
    const pm = structuredClone(byKind('PodMonitor')) as Manifest & {
      spec: { podMetricsEndpoints: object[] };
    };
    pm.spec.podMetricsEndpoints[0] = { ...pm.spec.podMetricsEndpoints[0], honorLabels: 'yes' };
    expect((await schemaErrors(pm)).join()).toMatch(/honorLabels must be boolean/);
    const typo = structuredClone(byKind('Deployment')) as Manifest & { spec: { template: Template } };
    (typo.spec.template.spec.containers[0]!.securityContext as Record<string, unknown>)[
      'readOnlyRootFileSystem'
    ] = true;
    expect(unknownFieldErrors([typo]).join()).toMatch(/readOnlyRootFileSystem/);
  });
});

describe('the vigil sidecar', () => {
  it('runs the image with the mounted config, on the ports its config listens on', () => {
    const c = vigilContainer();
    const cfg = sidecarConfig();
    expect(c.restartPolicy).toBe('Always'); // a native sidecar
    expect(c.args).toEqual(['serve', '--config', '/etc/vigil/config.yaml']);
    const port = (name: string | number) =>
      typeof name === 'number' ? name : c.ports!.find((p) => p.name === name)!.containerPort;
    expect(port('vigil-api')).toBe(cfg.listeners.api.port);
    expect(port('vigil-metrics')).toBe(cfg.listeners.metrics.port);
    expect(cfg.listeners.ingest.host).toBe('127.0.0.1');
    expect(c.livenessProbe!.httpGet.path).toBe('/livez');
    expect(port(c.livenessProbe!.httpGet.port)).toBe(cfg.listeners.api.port);
    expect(c.readinessProbe!.httpGet.path).toBe('/readyz');
    expect(port(c.readinessProbe!.httpGet.port)).toBe(cfg.listeners.api.port);
  });

  it('has its config from the ConfigMap and its state in an emptyDir', () => {
    const c = vigilContainer();
    const { volumes } = template().spec;
    const mount = (path: string) => {
      const m = c.volumeMounts!.find((v) => v.mountPath === path)!;
      return { ...m, volume: volumes.find((v) => v.name === m.name)! };
    };
    const config = mount('/etc/vigil');
    expect(config.readOnly).toBe(true);
    expect(config.volume.configMap?.name).toBe(kustomization.configMapGenerator[0]!.name);
    const state = mount(sidecarConfig().state.dir!);
    expect(state.volume.emptyDir).toBeDefined();
  });

  it('is locked down: read-only root filesystem, non-root, no privilege escalation, requests and limits', () => {
    const c = vigilContainer();
    const pod = template().spec;
    expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBe(1000); // the Dockerfile's USER
    for (const r of ['cpu', 'memory']) {
      expect(c.resources?.requests?.[r], `requests.${r}`).toBeDefined();
      expect(c.resources?.limits?.[r], `limits.${r}`).toBeDefined();
    }
    // Ingest backs off (503) before the container reaches its memory limit.
    const limitMi = Number(/^(\d+)Mi$/.exec(c.resources!.limits!['memory']!)![1]);
    expect(sidecarConfig().limits.memory_soft_mib).toBeLessThan(limitMi);
    // vigil's own deadline fits in the pod's grace period.
    expect(sidecarConfig().shutdown_timeout).toBeLessThan((pod.terminationGracePeriodSeconds ?? 30) * 1000);
  });

  it('gets POD_NAME and the namespace from the downward API into external_labels', () => {
    const env = vigilContainer().env!;
    const field = (n: string) => env.find((e) => e.name === n)?.valueFrom?.fieldRef?.fieldPath;
    expect(field('POD_NAME')).toBe('metadata.name');
    expect(field('POD_NAMESPACE')).toBe('metadata.namespace');
    expect(read('vigil-config.yaml')).toMatch(/pod: \$\{POD_NAME\}/);
    expect(sidecarConfig().alerting.external_labels).toEqual({
      pod: 'pricing-7f9c-abcde',
      namespace: 'shop',
    });
  });

  it('the app container pushes to the sidecar on localhost', () => {
    const app = template().spec.containers.find((c) => c.name !== 'vigil')!;
    const endpoint = app.env!.find((e) => e.name === 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT')!.value;
    expect(endpoint).toBe(`http://127.0.0.1:${sidecarConfig().listeners.ingest.port}/v1/metrics`);
  });

  it('the sidecar config is valid for `vigil check-config` and carries the shipped rules', () => {
    const r = spawnSync(process.execPath, [CLI, 'check-config', '--config', join(DIR, 'vigil-config.yaml')], {
      encoding: 'utf8',
      env: { ...process.env, POD_NAME: 'p', POD_NAMESPACE: 'n' },
    });
    expect(r.status, r.stderr).toBe(0);
    const shipped = parseConfigText(readFileSync(join(REPO, 'config.yaml'), 'utf8'), 'config.yaml', {});
    if (!shipped.ok) throw new Error(shipped.errors.join('\n'));
    const cfg = sidecarConfig();
    // The example deploys the seed platform's rules: keep it in step with config.yaml.
    for (const key of ['signals', 'rules', 'sources', 'report', 'views'] as const)
      expect(cfg[key], key).toEqual(shipped.config[key]);
  });
});

describe('scraping', () => {
  it('PodMonitor selects the pods, scrapes the metrics port and honours vigil’s job/instance', () => {
    const pm = byKind('PodMonitor') as Manifest & {
      spec: {
        selector: { matchLabels: Record<string, string> };
        podMetricsEndpoints: Array<{ port: string; path: string; honorLabels: boolean }>;
      };
    };
    for (const [k, v] of Object.entries(pm.spec.selector.matchLabels))
      expect(template().metadata.labels[k]).toBe(v);
    const ep = pm.spec.podMetricsEndpoints[0]!;
    expect(vigilContainer().ports!.map((p) => p.name)).toContain(ep.port);
    expect(ep.path).toBe('/metrics');
    expect(ep.honorLabels).toBe(true);
  });

  it('the prometheus.io annotations point at the metrics listener', () => {
    const a = template().metadata.annotations;
    expect(a['prometheus.io/scrape']).toBe('true');
    expect(Number(a['prometheus.io/port'])).toBe(sidecarConfig().listeners.metrics.port);
    expect(a['prometheus.io/path']).toBe('/metrics');
  });
});

describe('PrometheusRule', () => {
  /** The command README "Deploying as a sidecar" gives, run from the repository root. */
  const EXPORT_ARGS = [
    'rules',
    'export',
    '--config',
    'deploy/kubernetes/vigil-config.yaml',
    '--format',
    'prometheusrule',
    '--name',
    'vigil-rules',
    '--interval',
    '30s',
  ];

  it('is what `vigil rules export` makes of the sidecar config today', () => {
    const r = spawnSync(process.execPath, [CLI, ...EXPORT_ARGS], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, POD_NAME: '', POD_NAMESPACE: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(
      read('prometheusrule.yaml'),
      `stale: regenerate with node dist/cli.js ${EXPORT_ARGS.join(' ')} > deploy/kubernetes/prometheusrule.yaml`,
    ).toBe(r.stdout);
  });

  it('`--interval` sets the group interval and refuses what is not a duration of at least 1s', () => {
    const run = (interval: string) =>
      spawnSync(process.execPath, [CLI, ...EXPORT_ARGS.slice(0, -1), interval], {
        cwd: REPO,
        encoding: 'utf8',
      });
    expect(run('2m').stdout).toContain('interval: 2m');
    for (const bad of ['soon', '500ms']) {
      const r = run(bad);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('invalid --interval');
    }
  });

  it('its rules pass promtool check rules, one recording rule per signal and one alert per rule', () => {
    const pr = byKind('PrometheusRule') as Manifest & {
      spec: { groups: Array<{ name: string; interval: string; rules: Array<Record<string, unknown>> }> };
    };
    const file = join(tempDir('vigil-promrule-'), 'rules.yaml');
    writeFileSync(file, stringify({ groups: pr.spec.groups }));
    const r = spawnSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const cfg = sidecarConfig();
    const rules = pr.spec.groups.flatMap((g) => g.rules);
    expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(rules.filter((x) => 'record' in x)).toHaveLength(Object.keys(cfg.signals).length);
    expect(rules.filter((x) => 'alert' in x).map((x) => x['alert'])).toEqual(cfg.rules.map((x) => x.name));
    expect(pr.spec.groups[0]!.interval).toBe('30s');
  });
});
