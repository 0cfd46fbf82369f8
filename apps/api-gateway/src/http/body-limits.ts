import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { isProtectedPath } from '../access/protected-paths';
import { sendApiError } from '../access/respond';
import { ApiError } from '../errors/api-error';
import { toApiError } from '../errors/error.filter';
import { GRAPHQL_PATH } from '../graphql/graphql-path';
import { graphqlJsonBody } from '../graphql/image-input';

/** The path of uploads: the only route that takes an image body. */
export const SUBMIT_PATH = '/v1/detections';

export interface BodyLimits {
  /** Raw image bodies of uploads (MAX_IMAGE_BYTES); multipart uploads are read by multer in the controller, with the same limit. */
  maxImageBytes: number;
  /** JSON bodies of every other API route (MAX_JSON_BODY_BYTES). */
  maxJsonBytes: number;
}

/**
 * Pure: the body a request may have, by route. `image`: a raw image/* body on POST
 * /v1/detections (multipart goes to multer there); `graphql`: JSON with room for a base64 image
 * (multipart goes to GraphqlMultipartMiddleware); `json`: a small JSON body on the other API
 * routes; `none` everywhere else: open paths (health, docs, the web page, unknown ones) never
 * have a body read. Matched without regard to case or a trailing slash, as Express routes are.
 */
export function bodyKind(method: string, path: string): 'image' | 'graphql' | 'json' | 'none' {
  const p = path.toLowerCase().replace(/\/+$/, '');
  if (p === GRAPHQL_PATH) return 'graphql';
  if (p === SUBMIT_PATH) return method === 'POST' ? 'image' : 'none';
  return isProtectedPath(p) ? 'json' : 'none';
}

/**
 * The body parsers, each where its route needs it and with that route's limit. Mounted after the
 * API key check, so a stranger's body is never read; a body over its limit gets 413
 * payload_too_large (as soon as Content-Length says so, before it is read).
 */
export function bodyParsers(limits: BodyLimits): RequestHandler {
  const image = answerErrors(express.raw({ type: 'image/*', limit: limits.maxImageBytes }), `MAX_IMAGE_BYTES, ${limits.maxImageBytes} bytes`);
  const graphql = graphqlJsonBody(limits.maxImageBytes);
  const json = answerErrors(express.json({ limit: limits.maxJsonBytes }), `MAX_JSON_BODY_BYTES, ${limits.maxJsonBytes} bytes`);
  return (req, res, next) => {
    switch (bodyKind(req.method, req.path)) {
      case 'image':
        return image(req, res, next);
      case 'graphql':
        return graphql(req, res, next);
      case 'json':
        return json(req, res, next);
      case 'none':
        return next();
    }
  };
}

/** A parser whose errors are answered here, naming the limit that applies to this route. */
function answerErrors(parse: RequestHandler, limit: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    void parse(req, res, (error?: unknown) => {
      if (!error) return next();
      const apiError = (error as { type?: string }).type === 'entity.too.large' ? new ApiError('payload_too_large', `The request body is larger than the limit (${limit})`) : toApiError(error);
      sendApiError(res, apiError);
    });
  };
}

/**
 * OPTIONS on any path ends here, before authentication and without reading a body. With
 * CORS_ORIGINS set, the CORS middleware before this has already answered (preflights included);
 * without it there is nothing to negotiate: 204 and the methods the API uses.
 */
export function answerOptions(req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'OPTIONS') return next();
  res.setHeader('Allow', 'GET, HEAD, POST, OPTIONS');
  res.status(204).end();
}

/**
 * How long a request may go on sending a body after its answer has gone out (a refusal sent
 * before the body was read: 401, 413, 415, 404). Node reads and drops such a body so that the
 * client still gets its answer over a kept-alive connection; past this, the connection is cut,
 * so a refused upload cannot hold a socket for as long as it likes.
 */
export const UNREAD_BODY_LINGER_MS = 2000;

/** Cuts the connection of a request still sending its body UNREAD_BODY_LINGER_MS after its answer. */
export function lingerUnreadBodies(req: Request, res: Response, next: NextFunction): void {
  res.once('finish', () => {
    if (req.complete) return;
    const timer = setTimeout(() => {
      if (!req.complete) req.socket.destroy();
    }, UNREAD_BODY_LINGER_MS);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
  });
  next();
}
