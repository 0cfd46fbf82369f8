import { GraphQLError, GraphQLScalarType } from 'graphql';

/** A file part of a GraphQL multipart request, held in memory (it is at most MAX_IMAGE_BYTES). */
export class UploadedFile {
  constructor(
    readonly buffer: Buffer,
    readonly filename: string,
    readonly mimetype: string,
  ) {}
}

/**
 * `Upload`: a file sent with the GraphQL multipart request spec
 * (https://github.com/jaydenseric/graphql-multipart-request-spec). Only variables can carry one;
 * graphql-multipart.middleware.ts puts the file where the request's `map` says.
 */
export const GraphQLUpload = new GraphQLScalarType<UploadedFile, never>({
  name: 'Upload',
  description: 'A file sent as a part of a multipart/form-data request (GraphQL multipart request spec). Variables only.',
  parseValue(value: unknown): UploadedFile {
    if (value instanceof UploadedFile) return value;
    throw new GraphQLError('Upload: send the file as a multipart/form-data part mapped to this variable (GraphQL multipart request spec)');
  },
  parseLiteral(): never {
    throw new GraphQLError('Upload: a file cannot be written in the query; pass it as a variable');
  },
  serialize(): never {
    throw new GraphQLError('Upload is an input-only scalar');
  },
});
