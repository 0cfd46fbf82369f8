import type { ArgusConfig } from '@argus/config';
import { NoSchemaIntrospectionCustomRule, type ValidationRule } from 'graphql';
import { MAX_PAGE } from './detections.resolver';
import { costLimitRule, depthLimitRule, introspectionRootsRule } from './limits';

/** How many `__schema` / `__type` selections one operation may make: a tool's introspection query needs one. */
export const MAX_INTROSPECTION_ROOTS = 3;

/**
 * The validation rules beyond graphql-js's own, for HTTP and WebSocket alike: depth, cost, the
 * introspection cap, and in production no introspection at all.
 */
export function graphqlRules(config: ArgusConfig): ValidationRule[] {
  return [
    depthLimitRule(config.graphql.maxDepth),
    costLimitRule(config.graphql.maxCost, { variableListSize: MAX_PAGE }),
    introspectionRootsRule(MAX_INTROSPECTION_ROOTS),
    ...(config.production ? [NoSchemaIntrospectionCustomRule] : []),
  ];
}
