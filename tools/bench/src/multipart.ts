/** A file part of a multipart/form-data body. */
export interface FilePart {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

/** The body of a multipart/form-data upload: text fields, then one file (as curl -F sends it). */
export function multipartBody(boundary: string, fields: Record<string, string>, file: FilePart): Buffer {
  const head: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    head.push(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  }
  head.push(
    `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\nContent-Type: ${file.contentType}\r\n\r\n`,
  );
  return Buffer.concat([Buffer.from(head.join(''), 'utf8'), file.data, Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8')]);
}

/** The boundary named by a multipart/form-data Content-Type, or undefined. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** What a multipart/form-data body holds: text fields and files by field name. */
export interface ParsedForm {
  fields: Record<string, string>;
  files: Record<string, Buffer>;
}

/**
 * Splits a whole multipart/form-data body (already in memory: images are small) into fields and
 * files; throws on a body that does not follow the boundary it was given.
 */
export function parseMultipart(body: Buffer, boundary: string): ParsedForm {
  const delimiter = Buffer.from(`--${boundary}`);
  const form: ParsedForm = { fields: {}, files: {} };
  let at = body.indexOf(delimiter);
  if (at < 0) throw new Error('multipart body without its boundary');
  for (;;) {
    at += delimiter.length;
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return form; // closing "--boundary--"
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) throw new Error('malformed multipart boundary line');
    const headersEnd = body.indexOf('\r\n\r\n', at + 2);
    if (headersEnd < 0) throw new Error('multipart part without a blank line after its headers');
    const headers = body.subarray(at + 2, headersEnd).toString('latin1');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headersEnd + 4);
    if (next < 0) throw new Error('multipart body ends inside a part');
    const content = body.subarray(headersEnd + 4, next);
    const disposition = /content-disposition:\s*form-data\s*;([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) throw new Error('multipart part without a name');
    if (/\bfilename="/i.test(disposition)) form.files[name] = content;
    else form.fields[name] = content.toString('utf8');
    at = next + 2;
  }
}
