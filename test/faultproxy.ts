// A small HTTP proxy between the SDK and the local servers that injects, with a seeded PRNG,
// throttling, 500s, dropped connections and (on BatchWriteItem) UnprocessedItems.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rng } from '../runtime/cli/generate';

export interface FaultCounts {
  throttle: number;
  error500: number;
  dropBefore: number;
  dropAfter: number;
  unprocessed: number;
  forwarded: number;
}

export async function faultProxy(
  target: string,
  seed: number,
  rate = 0.12,
  /** also drop the answer of any request this picks, after the server applied it */
  dropAnswerOf?: (target: string, body: string) => boolean,
): Promise<{ endpoint: string; counts: FaultCounts; close(): Promise<void> }> {
  const rand = rng(seed);
  const up = new URL(target);
  const counts: FaultCounts = { throttle: 0, error500: 0, dropBefore: 0, dropAfter: 0, unprocessed: 0, forwarded: 0 };
  const forward = (
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const r = http.request(
        {
          host: up.hostname,
          port: up.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, 'content-length': String(body.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(body);
    });
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const target = String(req.headers['x-amz-target'] ?? '');
    const dynamo = target.startsWith('DynamoDB_');
    const roll = rand();
    const send = (status: number, text: string, type: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (roll < rate * 0.25) {
      counts.throttle++;
      return dynamo
        ? send(
            400,
            JSON.stringify({
              __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
              message: 'injected throttle',
            }),
            'application/x-amz-json-1.0',
          )
        : send(
            503,
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>',
            'application/xml',
          );
    }
    if (roll < rate * 0.5) {
      counts.error500++;
      return dynamo
        ? send(
            500,
            JSON.stringify({ __type: 'com.amazon.coral.service#InternalFailure', message: 'injected 500' }),
            'application/x-amz-json-1.0',
          )
        : send(
            500,
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected</Message></Error>',
            'application/xml',
          );
    }
    if (roll < rate * 0.65) {
      counts.dropBefore++;
      return req.socket.destroy();
    }
    try {
      if (target === 'DynamoDB_20120810.BatchWriteItem' && roll < rate) {
        // Forward half of each table's writes; report the rest as unprocessed, as DynamoDB does under load.
        const reqBody = JSON.parse(body.toString());
        const kept: Record<string, unknown[]> = {};
        const left: Record<string, unknown[]> = {};
        for (const [t, items] of Object.entries(reqBody.RequestItems as Record<string, unknown[]>)) {
          const half = Math.ceil(items.length / 2);
          kept[t] = items.slice(0, half);
          if (items.length > half) left[t] = items.slice(half);
        }
        const r = await forward(req, Buffer.from(JSON.stringify({ ...reqBody, RequestItems: kept })));
        const out = JSON.parse(r.body.toString() || '{}');
        out.UnprocessedItems = { ...(out.UnprocessedItems ?? {}) };
        for (const [t, items] of Object.entries(left))
          out.UnprocessedItems[t] = [...(out.UnprocessedItems[t] ?? []), ...items];
        counts.unprocessed++;
        return send(r.status, JSON.stringify(out), 'application/x-amz-json-1.0');
      }
      const r = await forward(req, body);
      counts.forwarded++;
      if ((roll < rate * 0.8 && roll >= rate * 0.65) || dropAnswerOf?.(target, body.toString())) {
        counts.dropAfter++; // the server did the work, the client never hears back
        return req.socket.destroy();
      }
      const headers = { ...r.headers };
      delete headers['transfer-encoding'];
      headers['content-length'] = String(r.body.length);
      res.writeHead(r.status, headers);
      res.end(r.body);
    } catch {
      req.socket.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}
