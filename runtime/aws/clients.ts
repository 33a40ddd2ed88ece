// AWS SDK clients, pointed at AWS or at any S3/DynamoDB-compatible endpoint (AWS_ENDPOINT_URL).
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Config, ServiceEndpoints } from './config';

export interface Clients {
  s3: S3Client;
  ddb: DynamoDBDocumentClient;
  raw: DynamoDBClient;
  events: EventBridgeClient;
  sns: SNSClient;
}

/** Generous retries: the SDK's own backoff handles throttling, 5xx and dropped connections. */
export function makeClients(
  cfg: Pick<Config, 'region' | 'endpoint'> & { serviceEndpoints?: ServiceEndpoints },
  endpoints?: { s3?: string; dynamodb?: string; local?: boolean },
): Clients {
  const per = cfg.serviceEndpoints ?? {};
  // The local stack accepts any signature; fixed keys keep it working with no AWS profile at all.
  const credentials = endpoints?.local ? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } : undefined;
  const common = { region: cfg.region, maxAttempts: 8, ...(credentials ? { credentials } : {}) };
  const s3Endpoint = endpoints?.s3 ?? per.s3 ?? cfg.endpoint;
  const ddbEndpoint = endpoints?.dynamodb ?? per.dynamodb ?? cfg.endpoint;
  // S3-compatible stores (s3rver, MinIO, LocalStack) may not decode the SDK's default aws-chunked
  // checksum trailers: against a custom endpoint, send checksums only where S3 requires them.
  const compat = s3Endpoint
    ? {
        endpoint: s3Endpoint,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED' as const,
        responseChecksumValidation: 'WHEN_REQUIRED' as const,
      }
    : {};
  const s3 = new S3Client({ ...common, ...compat });
  const raw = new DynamoDBClient({ ...common, ...(ddbEndpoint ? { endpoint: ddbEndpoint } : {}) });
  const ddb = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const events = new EventBridgeClient({ ...common, ...(per.events ? { endpoint: per.events } : {}) });
  const sns = new SNSClient({ ...common, ...(per.sns ? { endpoint: per.sns } : {}) });
  return { s3, ddb, raw, events, sns };
}
