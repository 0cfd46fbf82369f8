import { ApiError } from '../errors/api-error';
import { assembleOperations, placeAt } from './graphql-multipart.middleware';
import { UploadedFile } from './upload.scalar';

const file = (fieldname: string) => ({ fieldname, originalname: `${fieldname}.jpg`, mimetype: 'image/jpeg', buffer: Buffer.from('jpeg') }) as Express.Multer.File;

describe('GraphQL multipart request spec', () => {
  it('puts each file where map says', () => {
    const operations = assembleOperations(
      { operations: JSON.stringify({ query: 'mutation($i: Upload!) { x }', variables: { i: null, other: 1 } }), map: JSON.stringify({ 0: ['variables.i'] }) },
      [file('0')],
    ) as { variables: { i: UploadedFile; other: number } };
    expect(operations.variables.i).toBeInstanceOf(UploadedFile);
    expect(operations.variables.i).toMatchObject({ filename: '0.jpg', mimetype: 'image/jpeg' });
    expect(operations.variables.i.buffer.toString()).toBe('jpeg');
    expect(operations.variables.other).toBe(1);
  });

  it('follows paths into arrays and batched operations', () => {
    const target = [{ variables: { files: [null, null] } }];
    placeAt(target, '0.variables.files.1', 'F');
    expect(target).toEqual([{ variables: { files: [null, 'F'] } }]);
  });

  it('refuses a path that is not a null placeholder in operations', () => {
    expect(() => placeAt({ variables: {} }, 'variables.image', 'F')).toThrow(/not in operations/);
    expect(() => placeAt({ variables: { image: 'x' } }, 'variables.image', 'F')).toThrow(/must be null/);
    expect(() => placeAt({ variables: { image: null } }, 'variables.__proto__.x', 'F')).toThrow(ApiError);
  });

  it('names what is missing or extra', () => {
    const operations = JSON.stringify({ query: 'q', variables: { i: null } });
    expect(() => assembleOperations({ map: '{}' }, [])).toThrow(/"operations"/);
    expect(() => assembleOperations({ operations }, [])).toThrow(/"map"/);
    expect(() => assembleOperations({ operations, map: 'not json' }, [])).toThrow(/must be JSON/);
    expect(() => assembleOperations({ operations, map: JSON.stringify({ 0: ['variables.i'] }) }, [])).toThrow(expect.objectContaining({ code: 'missing_image' }));
    expect(() => assembleOperations({ operations, map: '{}' }, [file('0')])).toThrow(/not named in map/);
  });
});
