import { boundaryOf, multipartBody, parseMultipart } from './multipart';

describe(parseMultipart.name, () => {
  const data = Buffer.from([0xff, 0xd8, 0x0d, 0x0a, 0x2d, 0x2d, 0x00, 0xff, 0xd9]); // CRLF and dashes inside the file

  it('reads back the fields and the file multipartBody wrote, byte for byte', () => {
    const body = multipartBody('xyz123', { model: 'yolox-nano', priority: 'high' }, { field: 'image', filename: 'a.jpg', contentType: 'image/jpeg', data });
    const form = parseMultipart(body, 'xyz123');
    expect(form.fields).toEqual({ model: 'yolox-nano', priority: 'high' });
    expect(form.files['image']?.equals(data)).toBe(true);
  });

  it('takes the boundary from the Content-Type, quoted or not', () => {
    expect(boundaryOf('multipart/form-data; boundary=abc')).toBe('abc');
    expect(boundaryOf('multipart/form-data; charset=utf-8; boundary="a b"')).toBe('a b');
    expect(boundaryOf('image/jpeg')).toBeUndefined();
    expect(boundaryOf(undefined)).toBeUndefined();
  });

  it('rejects a body cut off inside a part, or without the boundary', () => {
    const body = multipartBody('b', {}, { field: 'image', filename: 'a.jpg', contentType: 'image/jpeg', data });
    expect(() => parseMultipart(body.subarray(0, body.length - 8), 'b')).toThrow(/ends inside a part/);
    expect(() => parseMultipart(Buffer.from('hello'), 'b')).toThrow(/without its boundary/);
  });
});
