import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { costLimitRule, depthLimitRule, selectionCost, selectionDepth } from './limits';

const schema = buildSchema(`
  type Box { x1: Float y1: Float }
  type Obj { label: String box: Box }
  type Detection { id: ID status: String detections: [Obj] }
  type Page { items: [Detection] nextCursor: String }
  type Query { detection(id: ID!): Detection detections(first: Int = 20, after: String): Page models: [String] }
`);

function check(query: string, maxDepth = 8, maxCost = 5000) {
  return validate(schema, parse(query), [...specifiedRules, depthLimitRule(maxDepth), costLimitRule(maxCost, { variableListSize: 100 })]).map((e) => ({
    message: e.message,
    extensions: e.extensions,
  }));
}

function operation(query: string) {
  const document = parse(query);
  const op = document.definitions.find((d) => d.kind === 'OperationDefinition');
  const fragments = (name: string) => document.definitions.find((d) => d.kind === 'FragmentDefinition' && d.name.value === name) as never;
  if (!op || op.kind !== 'OperationDefinition') throw new Error('no operation');
  return { op, fragments };
}

describe('depth limit', () => {
  it('counts nested fields, root fields at depth 1, through fragments and inline fragments', () => {
    const depth = (q: string) => {
      const { op, fragments } = operation(q);
      return selectionDepth(op.selectionSet, fragments);
    };
    expect(depth('{ models }')).toBe(1);
    expect(depth('{ detection(id: 1) { detections { box { x1 } } } }')).toBe(4);
    expect(depth('query { detections { ...P } } fragment P on Page { items { ... on Detection { detections { label } } } }')).toBe(4);
  });

  it('leaves introspection out, so tools can read the schema whole', () => {
    expect(check('{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }', 2)).toEqual([]);
  });

  it('refuses an operation one level too deep, saying how deep', () => {
    expect(check('{ detections { items { detections { box { x1 } } } } }', 5)).toEqual([]);
    const errors = check('{ detections { items { detections { box { x1 } } } } }', 4);
    expect(errors).toEqual([{ message: expect.stringMatching(/too deep: 5 levels of fields, at most 4/), extensions: { limit: 'depth', depth: 5, maxDepth: 4 } }]);
  });

  it('survives a fragment cycle (NoFragmentCyclesRule reports it)', () => {
    const errors = check('{ detection(id: 1) { ...A } } fragment A on Detection { id ...B } fragment B on Detection { ...A }');
    expect(errors.some((e) => /cycle|Cannot spread/i.test(e.message))).toBe(true);
  });
});

describe('cost limit', () => {
  const cost = (q: string) => {
    const { op, fragments } = operation(q);
    return selectionCost(op.selectionSet, schema.getQueryType() ?? undefined, fragments, { variableListSize: 100 });
  };

  it('costs 1 per field', () => {
    expect(cost('{ models }')).toBe(1);
    expect(cost('{ detection(id: 1) { id status } }')).toBe(3);
  });

  it('multiplies what is under a paginated field by first: literal, default, or the maximum for a variable', () => {
    expect(cost('{ detections(first: 10) { items { id } } }')).toBe(1 + 10 * 2);
    expect(cost('{ detections { items { id } } }')).toBe(1 + 20 * 2);
    expect(cost('query($n: Int) { detections(first: $n) { items { id } } }')).toBe(1 + 100 * 2);
  });

  it('adds up aliases, which is what makes a query costly', () => {
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: detections(first: 100) { items { id status } }`).join(' ');
    expect(cost(`{ ${aliases} }`)).toBe(30 * (1 + 100 * 3));
    const errors = check(`{ ${aliases} }`);
    expect(errors).toEqual([{ message: expect.stringMatching(/too costly: estimated 9030, at most 5000/), extensions: { limit: 'cost', cost: 9030, maxCost: 5000 } }]);
  });

  it('lets a full page of 100 detections through under the default limit', () => {
    expect(check('{ detections(first: 100) { items { id status detections { label box { x1 y1 } } } nextCursor } }')).toEqual([]);
  });
});
