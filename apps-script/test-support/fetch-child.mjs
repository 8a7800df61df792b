// One HTTP request for the UrlFetchApp stand-in, run in a child process so that the caller can
// block on it the way Apps Script's synchronous UrlFetchApp.fetch blocks.
import http from "node:http";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const body = Buffer.from(request.bodyBase64, "base64");
const url = new URL(request.url);
if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") {
  process.stdout.write(JSON.stringify({ error: "only loopback URLs are allowed in tests" }));
  process.exit(0);
}
const req = http.request(
  url,
  {
    method: request.method,
    headers: { ...request.headers, "content-length": body.length },
    timeout: 10000,
  },
  (res) => {
    const parts = [];
    res.on("data", (c) => parts.push(c));
    res.on("end", () => {
      process.stdout.write(
        JSON.stringify({ status: res.statusCode, body: Buffer.concat(parts).toString("utf8") }),
      );
    });
  },
);
req.on("timeout", () => req.destroy(new Error("timed out")));
req.on("error", (err) => process.stdout.write(JSON.stringify({ error: String(err.message) })));
req.end(body);
