import { base64Length, decodeBase64Image, graphqlJsonLimit, submittedImage } from './image-input';
import { UploadedFile } from './upload.scalar';

describe('base64 images', () => {
  const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0xfb, 0xef]);

  it('decodes standard and URL-safe base64, with or without a data: prefix, padding or line breaks', () => {
    const b64 = bytes.toString('base64');
    expect(decodeBase64Image(b64, 100)).toEqual(bytes);
    expect(decodeBase64Image(`data:image/jpeg;base64,${b64}`, 100)).toEqual(bytes);
    expect(decodeBase64Image(bytes.toString('base64url'), 100)).toEqual(bytes);
    expect(decodeBase64Image(`${b64.slice(0, 4)}\n${b64.slice(4)}`, 100)).toEqual(bytes);
  });

  it('refuses empty, non-base64 and too-large text with the REST codes', () => {
    expect(() => decodeBase64Image('  ', 100)).toThrow(expect.objectContaining({ code: 'empty_image' }));
    expect(() => decodeBase64Image('not base64!', 100)).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    expect(() => decodeBase64Image(Buffer.alloc(31).toString('base64'), 30)).toThrow(expect.objectContaining({ code: 'payload_too_large' }));
    expect(decodeBase64Image(Buffer.alloc(30).toString('base64'), 30)).toHaveLength(30);
  });

  it('sizes the /graphql JSON body for a whole base64 image plus the query', () => {
    expect(base64Length(3)).toBe(4);
    expect(base64Length(20 * 1024 * 1024)).toBe(27962028);
    expect(graphqlJsonLimit(20 * 1024 * 1024)).toBeGreaterThan(base64Length(20 * 1024 * 1024));
  });

  it('takes exactly one of an upload and base64', () => {
    const upload = new UploadedFile(bytes, 'a.jpg', 'image/jpeg');
    expect(submittedImage(upload, null, 100)).toBe(bytes);
    expect(submittedImage(undefined, bytes.toString('base64'), 100)).toEqual(bytes);
    expect(() => submittedImage(upload, 'AAAA', 100)).toThrow(/not both/);
    expect(() => submittedImage(null, null, 100)).toThrow(expect.objectContaining({ code: 'missing_image' }));
  });
});
