// Regression (issue 9, item 11): a replay of a file uploaded in parts ("aws s3 cp" over 8 MB) was
// archived again, because its ETag ("…-N") never equals the single-part archive copy's.
import test from 'ava';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { nextSecond, quietPipeline, withStack } from '../stack';

test('the same bytes uploaded in parts twice: the second upload is recognised as a duplicate', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    const key = 'ecommerce-data/orders/parts.csv';
    const rows = ['order_id,user_id,status,created_at'];
    for (let i = 0, size = 0; size < 11 << 20; i++)
      size += rows[rows.push(`o${i},u${i},Complete,2025-03-01T10:00:00Z`) - 1].length + 1;
    const body = Buffer.from(rows.join('\n') + '\n');
    const multipart = async () => {
      const { UploadId } = await s.clients.s3.send(new CreateMultipartUploadCommand({ Bucket: s.bucket, Key: key }));
      const parts = [];
      for (let n = 1, p = 0; p < body.length; n++, p += 5 << 20) {
        const r = await s.clients.s3.send(
          new UploadPartCommand({
            Bucket: s.bucket,
            Key: key,
            UploadId,
            PartNumber: n,
            Body: body.subarray(p, p + (5 << 20)),
          }),
        );
        parts.push({ ETag: r.ETag, PartNumber: n });
      }
      await s.clients.s3.send(
        new CompleteMultipartUploadCommand({ Bucket: s.bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
      );
    };
    await multipart();
    // s3rver gives a multipart object the whole-object MD5 as ETag (AWS gives "…-N"): the decision
    // must not rest on ETags at all, so the archived copy carries the SHA-256 of its bytes.
    const first = (await pipeline.validate([key]))[0];
    t.is(first.status, 'archived');
    t.is(
      (await pipeline.bucket.head(first.archiveKey!))?.metadata?.sha256,
      createHash('sha256').update(body).digest('hex'),
    );
    await nextSecond();
    await multipart();
    t.is((await pipeline.validate([key]))[0].status, 'duplicate');
    t.is((await pipeline.bucket.list('archive/')).length, 1);
  });
});
