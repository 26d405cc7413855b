// A smoke test of `consumerkit serve` with the JavaScript SDK v3 (@aws-sdk/client-sqs, AWS JSON protocol).
//
// Run as `node node_sdk.mjs URL NODE_DIR`, where NODE_DIR is the npm prefix the Makefile installed the SDK into
// (.venv/clients/node). Prints one JSON document that test_clients.py asserts on; checks nothing itself beyond
// what the SDK checks (it verifies the MD5 of each body it sends and receives).
import { createRequire } from "node:module";
import path from "node:path";

const [url, nodeDir] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(nodeDir), "package.json"));
const sqs = require("@aws-sdk/client-sqs");
const { version } = require("@aws-sdk/client-sqs/package.json");

const client = new sqs.SQSClient({
  endpoint: url,
  region: "eu-central-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});
const send = (Command, input) => client.send(new Command(input));

async function failure(Command, input) {
  try {
    return { unexpected_success: await send(Command, input) };
  } catch (error) {
    return {
      name: error.name,
      code: error.Code ?? null,
      type: error.Type ?? null,
      status: error.$metadata?.httpStatusCode ?? null,
      message: error.message,
    };
  }
}

const out = { sdk_version: version };
const { QueueUrl } = await send(sqs.CreateQueueCommand, { QueueName: "node-jobs", Attributes: { DelaySeconds: "0" } });
out.queue_url = QueueUrl;
out.get_queue_url = (await send(sqs.GetQueueUrlCommand, { QueueName: "node-jobs" })).QueueUrl;
out.queue_arn = (
  await send(sqs.GetQueueAttributesCommand, { QueueUrl, AttributeNames: ["QueueArn"] })
).Attributes.QueueArn;
const sent = await send(sqs.SendMessageCommand, {
  QueueUrl,
  MessageBody: "hello from node ✓ 🚀",
  MessageAttributes: {
    kind: { DataType: "String", StringValue: "greeting" },
    blob: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 254, 255]) },
  },
});
out.send = { MessageId: sent.MessageId, MD5OfMessageBody: sent.MD5OfMessageBody };
const got = await send(sqs.ReceiveMessageCommand, {
  QueueUrl,
  MaxNumberOfMessages: 10,
  WaitTimeSeconds: 1,
  MessageAttributeNames: ["All"],
  MessageSystemAttributeNames: ["ApproximateReceiveCount"],
});
out.receive = (got.Messages ?? []).map((m) => ({
  MessageId: m.MessageId,
  Body: m.Body,
  MD5OfBody: m.MD5OfBody,
  ReceiveCount: m.Attributes?.ApproximateReceiveCount,
  kind: m.MessageAttributes?.kind?.StringValue,
  blob: Array.from(m.MessageAttributes?.blob?.BinaryValue ?? []),
}));
if (got.Messages?.length) {
  await send(sqs.DeleteMessageCommand, { QueueUrl, ReceiptHandle: got.Messages[0].ReceiptHandle });
}
const after = await send(sqs.ReceiveMessageCommand, { QueueUrl, MaxNumberOfMessages: 10 });
out.after_delete = after.Messages ?? [];
out.missing_queue = await failure(sqs.GetQueueUrlCommand, { QueueName: "node-no-such-queue" });
out.too_many_messages = await failure(sqs.ReceiveMessageCommand, { QueueUrl, MaxNumberOfMessages: 11 });
await send(sqs.DeleteQueueCommand, { QueueUrl });
out.deleted = await failure(sqs.SendMessageCommand, { QueueUrl, MessageBody: "x" });
process.stdout.write(JSON.stringify(out));
