import { type ApiKeyDirectory, type ApiKeyGrant, ResultsRpc, type VerifyApiKeyRequest } from '@argus/contracts';
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ApiKeysService } from './api-keys.service';

/** The gateway's key lookups (it sends the sha256 of a presented key, never the key). */
@Controller()
export class KeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @MessagePattern(ResultsRpc.VerifyApiKey)
  verify(@Payload() request: VerifyApiKeyRequest): Promise<ApiKeyGrant | null> {
    return this.keys.verify(String(request?.sha256 ?? ''));
  }

  /** Which managed keys exist, so the gateway looks up only keys that can be real. */
  @MessagePattern(ResultsRpc.ApiKeyIds)
  ids(): Promise<ApiKeyDirectory> {
    return this.keys.directory();
  }
}
