import { exportedSeries, promqlShapeErrors, seriesIn } from './support/metrics';
import { asArray, asRecord, parseYaml, readRepoFile } from './support/repo';

/**
 * The monitoring files checked offline: Prometheus's alert rules and Grafana's provisioning and
 * dashboard. Grafana itself cannot run here (no image), so what it would read is checked field by
 * field; `promtool check config` and `promtool test rules` run in the container tier.
 */
const exported = exportedSeries();

describe('series names', () => {
  it('reads the exported series from the code, the live registry included', () => {
    expect(exported).toEqual(expect.objectContaining({ has: expect.any(Function) }));
    for (const name of ['argus_jobs_total', 'argus_stage_seconds_bucket', 'argus_queue_waiting_jobs', 'argus_ready', 'argus_redis_memory_max_bytes', 'process_resident_memory_bytes']) {
      expect({ name, exported: exported.has(name) }).toEqual({ name, exported: true });
    }
    expect(exported.has('argus_no_such_metric')).toBe(false);
  });

  it('finds the series a PromQL expression selects, and its shape problems', () => {
    expect(seriesIn('sum by (queue) (rate(argus_jobs_total{outcome="failed", q=~"a|b"}[5m])) / on(queue) group_left max(up) > 0.05')).toEqual(['argus_jobs_total', 'up']);
    expect(seriesIn('histogram_quantile(0.95, sum by (le) (rate(argus_stage_seconds_bucket{model=~"$model"}[$__rate_interval])))')).toEqual(['argus_stage_seconds_bucket']);
    expect(promqlShapeErrors('sum(rate(argus_jobs_total[5m])')).toEqual(['unclosed "("']);
    expect(promqlShapeErrors('vector(1)')).toEqual(['selects no series']);
  });
});

describe('monitoring/alerts.yml', () => {
  const groups = asArray(asRecord(parseYaml(readRepoFile('monitoring/alerts.yml')))?.groups).map(asRecord);
  const rules = groups.flatMap((g) => asArray(g?.rules).map(asRecord));

  it('has groups of alerting rules, each named once', () => {
    expect(groups.length).toBeGreaterThanOrEqual(4);
    const names = rules.map((r) => String(r?.alert));
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    for (const name of names) expect(name).toMatch(/^Argus[A-Z][A-Za-z]+$/);
  });

  it('gives every rule a valid expression, a duration, a severity and a summary', () => {
    for (const rule of rules) {
      const name = String(rule?.alert);
      expect({ name, shape: promqlShapeErrors(String(rule?.expr)) }).toEqual({ name, shape: [] });
      expect({ name, for: rule?.for }).toEqual({ name, for: expect.stringMatching(/^\d+[smh]$/) });
      expect({ name, severity: asRecord(rule?.labels)?.severity }).toEqual({ name, severity: expect.stringMatching(/^(critical|warning)$/) });
      expect({ name, summary: typeof asRecord(rule?.annotations)?.summary }).toEqual({ name, summary: 'string' });
    }
  });

  it('names only series the apps export', () => {
    const unknown = rules.flatMap((r) => seriesIn(String(r?.expr)).filter((s) => !exported.has(s)).map((s) => `${String(r?.alert)}: ${s}`));
    expect(unknown).toEqual([]);
  });

  it('covers queue wait by priority, failures, unpersisted results, Redis memory and readiness', () => {
    const text = rules.map((r) => String(r?.expr)).join('\n');
    for (const needle of ['argus_queue_waiting_jobs{priority="high"}', 'argus_stage_seconds_bucket{stage="queue_wait"}', 'argus_jobs_total{outcome="failed"}', 'argus_queue_jobs{queue="results", state="failed"}', 'argus_redis_memory_used_bytes', 'argus_ready', 'up{job=~"api-gateway|inference|results"}']) {
      expect({ needle, covered: text.includes(needle) }).toEqual({ needle, covered: true });
    }
  });
});

describe('monitoring/grafana', () => {
  const datasources = asArray(asRecord(parseYaml(readRepoFile('monitoring/grafana/provisioning/datasources/prometheus.yml')))?.datasources).map(asRecord);
  const providers = asArray(asRecord(parseYaml(readRepoFile('monitoring/grafana/provisioning/dashboards/argus.yml')))?.providers).map(asRecord);
  const dashboard = asRecord(JSON.parse(readRepoFile('monitoring/grafana/argus-dashboard.json')) as unknown) ?? {};
  const uid = String(datasources[0]?.uid);

  it('provisions one default Prometheus datasource with a fixed uid', () => {
    expect(asRecord(parseYaml(readRepoFile('monitoring/grafana/provisioning/datasources/prometheus.yml')))?.apiVersion).toBe(1);
    expect(datasources).toEqual([{ name: 'Prometheus', uid: expect.stringMatching(/^[a-zA-Z0-9_-]{1,40}$/), type: 'prometheus', access: 'proxy', url: expect.stringMatching(/^http:\/\/[a-z-]+:\d+$/), isDefault: true }]);
  });

  it('provisions dashboards from files in one folder', () => {
    expect(asRecord(parseYaml(readRepoFile('monitoring/grafana/provisioning/dashboards/argus.yml')))?.apiVersion).toBe(1);
    expect(providers).toHaveLength(1);
    expect(providers[0]).toEqual(expect.objectContaining({ name: 'argus', type: 'file', options: { path: expect.stringMatching(/^\/[\w/.-]+$/) } }));
  });

  it('is a dashboard Grafana can import: uid, title, unique panel ids, a schema version', () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(typeof dashboard.title).toBe('string');
    expect(Number(dashboard.schemaVersion)).toBeGreaterThan(30);
    const panels = asArray(dashboard.panels).map(asRecord).flatMap((p) => [p, ...asArray(p?.panels).map(asRecord)]);
    const ids = panels.map((p) => p?.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    for (const p of panels) expect(asRecord(p?.gridPos)).toEqual(expect.objectContaining({ h: expect.any(Number), w: expect.any(Number) }));
  });

  it('queries the provisioned datasource: its variable defaults to that uid, every query goes through it', () => {
    const variables = asArray(asRecord(dashboard.templating)?.list).map(asRecord);
    const source = variables.find((v) => v?.type === 'datasource');
    expect(source).toEqual(expect.objectContaining({ name: 'datasource', query: 'prometheus', current: expect.objectContaining({ value: uid }) }));
    const references: unknown[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      const record = asRecord(node);
      if (!record) return;
      if ('datasource' in record) references.push(record.datasource);
      Object.values(record).forEach(walk);
    };
    walk(dashboard.panels);
    walk(variables.filter((v) => v !== source));
    expect(references.length).toBeGreaterThan(10);
    for (const ref of references) expect(ref).toEqual({ type: 'prometheus', uid: expect.stringMatching(new RegExp(`^(\\$\\{datasource\\}|${uid})$`)) });
  });

  it('names only series the apps export, in panels and in variables', () => {
    const exprs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      const record = asRecord(node);
      if (!record) return;
      if (typeof record.expr === 'string') exprs.push(record.expr);
      if (typeof record.definition === 'string') exprs.push(String(/label_values\((.*),\s*\w+\)$/.exec(record.definition)?.[1]));
      Object.values(record).forEach(walk);
    };
    walk(dashboard);
    expect(exprs.length).toBeGreaterThan(20);
    for (const expr of exprs) expect({ expr, shape: promqlShapeErrors(expr) }).toEqual({ expr, shape: [] });
    const unknown = [...new Set(exprs.flatMap((e) => seriesIn(e)))].filter((s) => !exported.has(s));
    expect(unknown).toEqual([]);
  });
});
