import { DetectionViewSchema } from '@argus/contracts';
import { workspaceRoot } from '@argus/testing';
import { GraphQLSchemaBuilderModule, GraphQLSchemaFactory } from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import { type GraphQLInputObjectType, type GraphQLObjectType, lexicographicSortSchema, parse, printSchema, validate } from 'graphql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchFieldsSchema, SubmitFieldsSchema } from '../detections/submit-params';
import { BatchesResolver } from './batches.resolver';
import { DetectionsResolver } from './detections.resolver';
import { costLimitRule, depthLimitRule } from './limits';
import { ModelsResolver } from './models.resolver';

describe('the GraphQL schema', () => {
  let sdl: string;
  let schema: Awaited<ReturnType<GraphQLSchemaFactory['create']>>;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [GraphQLSchemaBuilderModule] }).compile();
    schema = lexicographicSortSchema(await moduleRef.get(GraphQLSchemaFactory).create([DetectionsResolver, BatchesResolver, ModelsResolver]));
    sdl = printSchema(schema);
  });

  it('takes the same submission options as REST', () => {
    const options = schema.getType('DetectionOptions') as GraphQLInputObjectType;
    expect(Object.keys(options.getFields()).sort()).toEqual(Object.keys(SubmitFieldsSchema.shape).sort());
    const batch = schema.getType('BatchOptions') as GraphQLInputObjectType;
    expect(Object.keys(batch.getFields()).sort()).toEqual(Object.keys(BatchFieldsSchema.shape).sort());
  });

  it('lists detections with the list query\'s filters under GraphQL\'s paging names', () => {
    const detections = schema.getQueryType()?.getFields()['detections'];
    expect(detections?.args.map((a) => a.name).sort()).toEqual(['after', 'first', 'from', 'model', 'priority', 'since', 'status', 'to', 'until']);
    expect(detections?.args.filter((a) => a.deprecationReason).map((a) => a.name).sort()).toEqual(['from', 'to']);
  });

  it('gives a Detection the same fields as the REST view', () => {
    const detection = schema.getType('Detection') as GraphQLObjectType;
    expect(Object.keys(detection.getFields()).sort()).toEqual(Object.keys(DetectionViewSchema.shape).sort());
  });

  it('lets a full page of 100 detections with every field through the default limits, and not two of them', () => {
    const every =
      'id status priority cached provider correlationId createdAt completedAt model { name version } image { width height sha256 } ' +
      'params { confidence iou classes maxDetections agnostic } detections { label classId score box { x1 y1 x2 y2 } } ' +
      'timings { queueWait fetch preprocess inference postprocess persist total batchSize } error { code message }';
    const page = (alias: string) => `${alias}: detections(first: 100) { items { ${every} } nextCursor hasNextPage }`;
    const rules = [depthLimitRule(8), costLimitRule(5000, { variableListSize: 100 })];
    expect(validate(schema, parse(`{ ${page('a')} }`), rules)).toEqual([]);
    expect(validate(schema, parse(`{ ${page('a')} ${page('b')} }`), rules).map((e) => e.extensions['cost'])).toEqual([9002]);
  });

  it('is the schema docs/api.md shows', () => {
    const doc = readFileSync(join(workspaceRoot(), 'docs', 'api.md'), 'utf8');
    const shown = /<!-- graphql-schema:start -->\s*```graphql\n([\s\S]*?)```\s*<!-- graphql-schema:end -->/.exec(doc)?.[1];
    // On a change: paste the printed schema between the markers.
    expect(shown?.trim()).toBe(sdl.trim());
  });
});
