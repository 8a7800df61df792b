// A stand-in receiver for when no leadsync server is given (LEADSYNC_TEST_URL unset): verifies
// Standard Webhooks signatures with node:crypto and remembers events by webhook-id. It runs in
// a worker thread because the UrlFetchApp stand-in blocks the main thread while it waits.
import crypto from "node:crypto";
import http from "node:http";
import { parentPort, workerData } from "node:worker_threads";

const key = Buffer.from(workerData.secret.replace(/^whsec_/, ""), "base64");
const stored = new Map(); // webhook-id -> parsed body
let failNext = 0;

function verified(headers, raw) {
  const id = headers["webhook-id"];
  const ts = headers["webhook-timestamp"];
  const sigs = headers["webhook-signature"];
  if (!id || !ts || !sigs || !/^\d+$/.test(ts)) return false;
  if (Math.abs(Math.floor(Date.now() / 1000) - Number(ts)) > 300) return false;
  const expected = crypto
    .createHmac("sha256", key)
    .update(Buffer.concat([Buffer.from(`${id}.${ts}.`), raw]))
    .digest();
  return sigs.split(" ").some((entry) => {
    if (!entry.startsWith("v1,")) return false;
    const got = Buffer.from(entry.slice(3), "base64");
    return got.length === expected.length && crypto.timingSafeEqual(got, expected);
  });
}

function answer(res, status, value) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

const server = http.createServer((req, res) => {
  const parts = [];
  req.on("data", (c) => parts.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(parts);
    if (req.url === "/__stored") {
      return answer(res, 200, Object.fromEntries(stored));
    }
    if (req.method === "POST" && req.url === "/__fail") {
      failNext = Number(raw.toString()) || 0;
      return answer(res, 200, { failNext });
    }
    if (req.method !== "POST" || req.url !== "/webhooks/sheets") {
      return answer(res, 404, { error: "not found" });
    }
    if (failNext > 0) {
      failNext -= 1;
      return answer(res, 503, { error: "unavailable" });
    }
    if (!verified(req.headers, raw)) return answer(res, 401, { error: "bad signature" });
    const id = req.headers["webhook-id"];
    const duplicate = stored.has(id);
    if (!duplicate) stored.set(id, JSON.parse(raw.toString("utf8")));
    return answer(res, 200, { accepted: true, duplicate });
  });
});

server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
parentPort.on("message", (msg) => {
  if (msg === "stop") server.close(() => process.exit(0));
});
