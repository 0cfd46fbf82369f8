import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import { costLimitRule, depthLimitRule, introspectionRoots, introspectionRootsRule, selectionCost, selectionDepth } from './limits';

const schema = buildSchema(`
  type Box { x1: Float y1: Float }
  type Obj { label: String box: Box }
  type Detection { id: ID status: String detections: [Obj] }
  type Page { items: [Detection] nextCursor: String }
  type Query { detection(id: ID!): Detection detections(first: Int = 20, after: String): Page models: [String] }
`);

function check(query: string, maxDepth = 8, maxCost = 5000) {
  return validate(schema, parse(query), [...specifiedRules, depthLimitRule(maxDepth), costLimitRule(maxCost, { variableListSize: 100 }), introspectionRootsRule(3)]).map((e) => ({
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

/** The estimated cost of a query's operation. */
function cost(query: string): number {
  const { op, fragments } = operation(query);
  return selectionCost(op.selectionSet, schema.getQueryType() ?? undefined, fragments, { variableListSize: 100 });
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

  it('leaves introspection out of the depth, so tools can read the schema whole', () => {
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

describe('introspection and cheap fields', () => {
  it('charges introspection fields and __typename like any field: no field is free', () => {
    expect(cost('{ __typename }')).toBe(1);
    expect(cost('{ __schema { types { name } } }')).toBe(3);
    const aliases = Array.from({ length: 6000 }, (_, i) => `a${i}: __typename`).join(' ');
    expect(check(`{ ${aliases} }`)).toEqual([{ message: expect.stringMatching(/too costly: estimated 6000/), extensions: { limit: 'cost', cost: 6000, maxCost: 5000 } }]);
  });

  it('lets the standard introspection query (what GraphiQL sends) through every limit', () => {
    expect(check(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true, directiveIsRepeatable: true }))).toEqual([]);
  });

  it('refuses asking for the schema again and again in one operation, through aliases and fragments', () => {
    const { op, fragments } = operation('{ a: __schema { queryType { name } } b: __type(name: "Box") { name } ... on Query { __typename } ...F } fragment F on Query { c: __schema { queryType { name } } }');
    expect(introspectionRoots(op.selectionSet, fragments)).toBe(3);
    const many = Array.from({ length: 4 }, (_, i) => `s${i}: __schema { queryType { name } }`).join(' ');
    expect(check(`{ ${many} }`)).toEqual([{ message: expect.stringMatching(/__schema or __type asked for 4 times in one operation, at most 3/), extensions: { limit: 'introspection', roots: 4, max: 3 } }]);
  });

  it('relies on graphql-js to refuse introspection lists nested three deep', () => {
    expect(check('{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }').map((e) => e.message)).toEqual([expect.stringMatching(/Maximum introspection depth exceeded/)]);
  });
});
