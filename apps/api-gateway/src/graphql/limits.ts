import {
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/**
 * Introspection fields (`__schema`, `__type`, `__typename`) do not count towards the depth limit:
 * the standard introspection query nests `ofType` about a dozen levels. They cost like any field,
 * and their fan-out is bounded otherwise: graphql-js's MaxIntrospectionDepthRule (a specified
 * rule) refuses lists of types nested three deep, and {@link introspectionRootsRule} caps how
 * often one operation may ask for the schema.
 */
const isIntrospection = (node: FieldNode) => node.name.value.startsWith('__');

type Fragments = (name: string) => FragmentDefinitionNode | null | undefined;

/** Pure: the deepest field nesting of a selection set (a root field is depth 1). */
export function selectionDepth(set: SelectionSetNode | undefined, fragments: Fragments, seen: ReadonlySet<string> = new Set()): number {
  if (!set) return 0;
  let deepest = 0;
  for (const selection of set.selections) {
    switch (selection.kind) {
      case Kind.FIELD:
        if (!isIntrospection(selection)) deepest = Math.max(deepest, 1 + selectionDepth(selection.selectionSet, fragments, seen));
        break;
      case Kind.INLINE_FRAGMENT:
        deepest = Math.max(deepest, selectionDepth(selection.selectionSet, fragments, seen));
        break;
      case Kind.FRAGMENT_SPREAD: {
        const name = selection.name.value;
        const fragment = fragments(name);
        // A cycle is NoFragmentCyclesRule's to report; here it just stops.
        if (fragment && !seen.has(name)) deepest = Math.max(deepest, selectionDepth(fragment.selectionSet, fragments, new Set([...seen, name])));
        break;
      }
    }
  }
  return deepest;
}

/** Refuses operations nested deeper than `maxDepth` fields. */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node: OperationDefinitionNode) {
      const depth = selectionDepth(node.selectionSet, (name) => context.getFragment(name));
      if (depth > maxDepth) {
        context.reportError(
          new GraphQLError(`Query too deep: ${depth} levels of fields, at most ${maxDepth} (GRAPHQL_MAX_DEPTH)`, {
            nodes: [node],
            extensions: { limit: 'depth', depth, maxDepth },
          }),
        );
      }
    },
  });
}

export interface CostOptions {
  /** Page size assumed for a `first` given as a variable (validation runs before variables are known): its maximum. */
  variableListSize: number;
}

/**
 * Pure: the estimated cost of a selection set. Every field costs 1, introspection fields and
 * `__typename` included (a document of cheap fields is still as costly as it is long); the
 * selection under a field with a `first` argument counts `first` times (its default when absent,
 * `variableListSize` when it is a variable). Fields the schema does not know cost 1 (other rules
 * report them).
 */
export function selectionCost(
  set: SelectionSetNode | undefined,
  parent: GraphQLNamedType | undefined,
  fragments: Fragments,
  options: CostOptions,
  seen: ReadonlySet<string> = new Set(),
): number {
  if (!set) return 0;
  let cost = 0;
  for (const selection of set.selections) {
    switch (selection.kind) {
      case Kind.FIELD: {
        const field: GraphQLField<unknown, unknown> | undefined =
          parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[selection.name.value] : undefined;
        const times = field ? pageSize(selection, field, options) : 1;
        cost += 1 + times * selectionCost(selection.selectionSet, field ? getNamedType(field.type) : undefined, fragments, options, seen);
        break;
      }
      case Kind.INLINE_FRAGMENT:
        cost += selectionCost(selection.selectionSet, parent, fragments, options, seen);
        break;
      case Kind.FRAGMENT_SPREAD: {
        const name = selection.name.value;
        const fragment = fragments(name);
        if (fragment && !seen.has(name)) cost += selectionCost(fragment.selectionSet, parent, fragments, options, new Set([...seen, name]));
        break;
      }
    }
  }
  return cost;
}

function pageSize(node: FieldNode, field: GraphQLField<unknown, unknown>, options: CostOptions): number {
  const arg = field.args.find((a) => a.name === 'first');
  if (!arg) return 1;
  const given = node.arguments?.find((a) => a.name.value === 'first')?.value;
  if (!given) return typeof arg.defaultValue === 'number' ? arg.defaultValue : options.variableListSize;
  if (given.kind === Kind.INT) return Math.max(0, Number(given.value));
  return options.variableListSize;
}

/** Refuses operations whose estimated cost is above `maxCost`. */
export function costLimitRule(maxCost: number, options: CostOptions): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node: OperationDefinitionNode) {
      const schema = context.getSchema();
      const root = node.operation === 'query' ? schema.getQueryType() : node.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
      const cost = selectionCost(node.selectionSet, root ?? undefined, (name) => context.getFragment(name), options);
      if (cost > maxCost) {
        context.reportError(
          new GraphQLError(`Query too costly: estimated ${cost}, at most ${maxCost} (GRAPHQL_MAX_COST; each field costs 1, a list's selection counts \`first\` times)`, {
            nodes: [node],
            extensions: { limit: 'cost', cost, maxCost },
          }),
        );
      }
    },
  });
}

/**
 * Pure: how many times an operation's root selection asks for `__schema` or `__type` (aliases and
 * fragments included).
 */
export function introspectionRoots(set: SelectionSetNode, fragments: Fragments, seen: ReadonlySet<string> = new Set()): number {
  let count = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === '__schema' || selection.name.value === '__type') count += 1;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      count += introspectionRoots(selection.selectionSet, fragments, seen);
    } else {
      const fragment = fragments(selection.name.value);
      if (fragment && !seen.has(selection.name.value)) count += introspectionRoots(fragment.selectionSet, fragments, new Set([...seen, selection.name.value]));
    }
  }
  return count;
}

/**
 * Refuses operations that ask for `__schema` or `__type` more than `max` times: a tool reads the
 * schema once per query, and each copy is a few thousand objects to build and send.
 */
export function introspectionRootsRule(max: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node: OperationDefinitionNode) {
      const roots = introspectionRoots(node.selectionSet, (name) => context.getFragment(name));
      if (roots > max) {
        context.reportError(
          new GraphQLError(`Too much introspection: __schema or __type asked for ${roots} times in one operation, at most ${max}`, {
            nodes: [node],
            extensions: { limit: 'introspection', roots, max },
          }),
        );
      }
    },
  });
}
