import type { ArgusConfig } from '@argus/config';
import type { NextFunction, Request, Response } from 'express';
import { sendApiError } from '../access/respond';
import { ApiError } from '../errors/api-error';
import { basicAuth } from './basic-auth';

/**
 * The admin's basic auth (ADMIN_USER, ADMIN_PASSWORD) in front of an /admin surface: Bull Board
 * and the models API go through this one place. Without credentials configured the surface is
 * off: 404, never open.
 */
export function adminAuth(config: Pick<ArgusConfig, 'admin'>, realm: string): (req: Request, res: Response, next: NextFunction) => void {
  const admin = config.admin;
  if (!admin) return (_req, res) => sendApiError(res, new ApiError('not_found', `${realm} is off: set ADMIN_USER and ADMIN_PASSWORD to enable it`));
  return basicAuth(admin, realm);
}
