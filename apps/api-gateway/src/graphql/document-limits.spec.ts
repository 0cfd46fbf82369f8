import { documentSizeError, parseDocument } from './document-limits';

describe(documentSizeError.name, () => {
  it('refuses a document over the limit as payload_too_large, counting UTF-8 bytes, before any parsing', () => {
    expect(documentSizeError('{ models { name } }', 1024)).toBeNull();
    expect(documentSizeError(undefined, 1024)).toBeNull();
    const big = documentSizeError(`{ ${'a: __typename '.repeat(300_000)} }`, 32 * 1024);
    expect(big).toMatchObject({ code: 'payload_too_large', status: 413, message: expect.stringContaining('GRAPHQL_MAX_DOCUMENT_BYTES') });
    // 600 two-byte characters: 600 UTF-16 units, 1200 bytes
    expect(documentSizeError(`# ${'é'.repeat(600)}\n{ a }`, 1024)).toMatchObject({ code: 'payload_too_large' });
  });
});

describe(parseDocument.name, () => {
  it('stops parsing at the token limit, whatever the length', () => {
    expect(parseDocument('{ a b c }', 100).definitions).toHaveLength(1);
    expect(() => parseDocument(`{ ${'a: __typename '.repeat(1000)} }`, 2000)).toThrow(/more tha.? 2000 tokens/);
  });
});
