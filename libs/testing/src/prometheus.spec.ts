import { metricValue, parsePrometheus } from './prometheus';

describe(parsePrometheus.name, () => {
  const text = [
    '# HELP argus_jobs_total Jobs.',
    '# TYPE argus_jobs_total counter',
    'argus_jobs_total{queue="detect",outcome="failed",code="x",app="inference"} 2',
    'argus_jobs_total{app="inference",queue="detect",outcome="completed",code=""} 5',
    'process_open_fds 28',
    'argus_weird{msg="a \\"quoted\\" value"} 1',
  ].join('\n');

  it('reads names, labels in any order, and values', () => {
    expect(parsePrometheus(text)).toHaveLength(4);
    expect(metricValue(text, 'argus_jobs_total', { outcome: 'completed' })).toBe(5);
    expect(metricValue(text, 'argus_jobs_total', { queue: 'detect' })).toBe(7);
    expect(metricValue(text, 'process_open_fds')).toBe(28);
    expect(metricValue(text, 'argus_nothing')).toBe(0);
    expect(parsePrometheus(text)[3]?.labels['msg']).toBe('a "quoted" value');
  });
});
