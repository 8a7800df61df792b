// Runs Code.gs against a real receiver: the leadsync named by LEADSYNC_TEST_URL (with
// LEADSYNC_TEST_SECRET, _SPREADSHEET_ID, _SHEET), or else a local Standard Webhooks verifier.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";

import { changeEvent, editEvent, HEADER, loadScript, post, signatureIsValid, startTarget } from "./harness.mjs";

let target;
before(async () => { target = await startTarget(); });
after(async () => { await target.stop(); });

const LEADS = [
  ["L-1", "Ada Lovelace", "ada@example.com", "", "Analytical", "New", ""],
  ["L-2", "Grace Hopper", "grace@example.com", "", "Navy", "Contacted", ""],
];

function installed(options = {}) {
  const app = loadScript(target, { rows: LEADS, ...options });
  app.script.setup();
  return app;
}

function accepted(fetch) {
  assert.equal(fetch.status, 200, `answer ${fetch.status} ${fetch.response} ${fetch.error ?? ""}`);
  assert.ok(signatureIsValid(target.secret, fetch.headers, fetch.body));
  return JSON.parse(fetch.response);
}

function pendingIds(app) {
  return app.props.getKeys().filter((k) => k.startsWith("leadsync.pending.")).sort()
    .map((k) => JSON.parse(app.props.getProperty(k)).id);
}

async function deadUrl() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}/webhooks/sheets`;
}

describe("setup()", () => {
  test("installs the edit, change and one-minute resend triggers and removes old ones", () => {
    const app = loadScript(target, { rows: LEADS });
    app.scriptApp.addExisting("onEditInstallable", "ON_EDIT");
    app.scriptApp.addExisting("resendPending", "CLOCK");
    app.scriptApp.addExisting("myOwnReport", "CLOCK");
    app.script.setup();
    app.script.setup();
    const ours = app.triggers.map((t) => `${t.getHandlerFunction()}:${t.getEventType()}`).sort();
    assert.deepEqual(ours, [
      "myOwnReport:CLOCK",
      "onChangeInstallable:ON_CHANGE",
      "onEditInstallable:ON_EDIT",
      "resendPending:CLOCK",
    ]);
    assert.equal(app.props.getProperty("leadsync.secret"), target.secret);
    assert.equal(app.props.getProperty("leadsync.url"), target.url);
  });

  test("the script keeps signing from the properties once the secret line is deleted", () => {
    const first = installed();
    const app = loadScript(target, {
      rows: LEADS,
      transform: (source) => source.replace(/^const LEADSYNC_SECRET = .*$/m, ""),
    });
    assert.doesNotMatch(app.script.setup.toString(), /whsec_[A-Za-z0-9+/]/);
    for (const key of first.props.getKeys()) app.props.setProperty(key, first.props.getProperty(key));
    app.script.setup();
    app.script.onEditInstallable(editEvent(app.sheet.write(2, 6, [["Qualified"]])));
    accepted(app.fetches[0]);
  });

  test("refuses to run while the URL and secret are still placeholders", () => {
    const app = loadScript({ ...target, url: "{{LEADSYNC_URL}}", secret: "{{LEADSYNC_SECRET}}" });
    assert.throws(() => app.script.setup(), /Fill in LEADSYNC_URL/);
    assert.equal(app.triggers.length, 0);
  });
});

describe("on edit", () => {
  test("a single-cell edit sends the whole row by header and is accepted", () => {
    const app = installed();
    app.script.onEditInstallable(editEvent(app.sheet.write(3, 6, [["Qualified"]])));
    assert.equal(app.fetches.length, 1);
    assert.deepEqual(accepted(app.fetches[0]), { accepted: true, duplicate: false });
    const body = JSON.parse(app.fetches[0].body);
    assert.equal(body.kind, "edit");
    assert.equal(body.spreadsheet_id, target.spreadsheetId);
    assert.equal(body.sheet, target.sheet);
    assert.ok(!Number.isNaN(Date.parse(body.edited_at)) && body.edited_at.endsWith("Z"));
    assert.deepEqual(body.rows, [{
      row: 3,
      values: Object.fromEntries(HEADER.map((h, i) => [h, [...LEADS[1].slice(0, 5), "Qualified", ""][i]])),
      edited: ["Status"],
    }]);
    assert.match(app.fetches[0].headers["webhook-id"], /^evt_[0-9a-f-]{36}$/);
  });

  test("a five-row paste delivers all five rows", () => {
    const app = installed();
    const pasted = [1, 2, 3, 4, 5].map((n) => ["", `Lead ${n}`, `l${n}@example.com`, "", "", "New", ""]);
    app.script.onEditInstallable(editEvent(app.sheet.write(4, 1, pasted)));
    const rows = app.fetches.flatMap((f) => { accepted(f); return JSON.parse(f.body).rows; });
    assert.deepEqual(rows.map((r) => r.row), [4, 5, 6, 7, 8]);
    assert.deepEqual(rows.map((r) => r.values.Name), ["Lead 1", "Lead 2", "Lead 3", "Lead 4", "Lead 5"]);
    assert.deepEqual(rows[0].edited, HEADER, "a paste of whole rows set every cell");
  });

  test("an edit of two columns names those two as the cells it set", () => {
    const app = installed();
    app.script.onEditInstallable(editEvent(app.sheet.write(2, 3, [["x@example.com", "+1 555 0101"]])));
    const body = JSON.parse(app.fetches[0].body);
    accepted(app.fetches[0]);
    assert.deepEqual(body.rows[0].edited, ["Email", "Phone"]);
  });

  test("a non-ASCII name is signed over its UTF-8 bytes and verifies", () => {
    const app = installed();
    app.script.onEditInstallable(editEvent(app.sheet.write(2, 2, [["Zoë Ångström – café"]])));
    accepted(app.fetches[0]);
    assert.equal(JSON.parse(app.fetches[0].body).rows[0].values.Name, "Zoë Ångström – café");
  });

  test("a large paste is split into bodies that each fit a script property", () => {
    const app = installed();
    const notes = "n".repeat(400);
    const pasted = Array.from({ length: 60 }, (_, i) => ["", `Bulk ${i}`, "", "", "", "New", notes]);
    app.script.onEditInstallable(editEvent(app.sheet.write(2, 1, pasted)));
    assert.ok(app.fetches.length > 1);
    const rows = app.fetches.flatMap((f) => {
      accepted(f);
      assert.ok(Buffer.byteLength(f.body) <= 8000);
      return JSON.parse(f.body).rows.map((r) => r.row);
    });
    assert.deepEqual(rows, Array.from({ length: 60 }, (_, i) => i + 2));
  });

  test("edits of the header row or of another sheet send nothing", () => {
    const app = installed();
    app.script.onEditInstallable(editEvent(app.sheet.write(1, 2, [["Name"]])));
    app.script.onEditInstallable(editEvent(app.other.write(2, 1, [["x"]])));
    assert.equal(app.fetches.length, 0);
  });
});

describe("on change", () => {
  test("an inserted row sends a change event without rows; formatting sends nothing", () => {
    const app = installed();
    app.script.onChangeInstallable(changeEvent(app.spreadsheet, "FORMAT"));
    app.script.onChangeInstallable(changeEvent(app.spreadsheet, "EDIT"));
    app.script.onChangeInstallable(changeEvent(app.spreadsheet, "INSERT_ROW"));
    assert.equal(app.fetches.length, 1);
    accepted(app.fetches[0]);
    const body = JSON.parse(app.fetches[0].body);
    assert.equal(body.kind, "change");
    assert.equal(body.rows, undefined);
  });
});

describe("failed deliveries", () => {
  test("an event sent while the server is unreachable is resent later with the same id and stored once", async () => {
    const app = installed();
    app.props.setProperty("leadsync.url", await deadUrl());
    app.script.onEditInstallable(editEvent(app.sheet.write(2, 7, [["called back"]])));
    assert.ok(app.fetches[0].error);
    const queued = pendingIds(app);
    assert.deepEqual(queued, [app.fetches[0].headers["webhook-id"]]);

    app.props.setProperty("leadsync.url", target.url);
    app.script.resendPending();
    const resend = app.fetches[1];
    assert.equal(resend.headers["webhook-id"], queued[0]);
    assert.equal(resend.body, app.fetches[0].body);
    assert.ok(Number(resend.headers["webhook-timestamp"]) >= Number(app.fetches[0].headers["webhook-timestamp"]));
    assert.deepEqual(accepted(resend), { accepted: true, duplicate: false });
    assert.deepEqual(pendingIds(app), []);

    app.script.resendPending();
    assert.equal(app.fetches.length, 2, "nothing left to resend");
    const replay = post(target.url, resend.headers, resend.body);
    assert.deepEqual(replay, { status: 200, body: { accepted: true, duplicate: true } });
  });

  test("an event refused with 503 is queued and accepted on the next resend", { skip: !process.env.LEADSYNC_TEST_URL ? false : "needs the local verifier" }, () => {
    const app = installed();
    target.failNext(1);
    app.script.onEditInstallable(editEvent(app.sheet.write(2, 6, [["Lost"]])));
    assert.equal(app.fetches[0].status, 503);
    app.script.resendPending();
    assert.deepEqual(accepted(app.fetches[1]), { accepted: true, duplicate: false });
    const id = app.fetches[0].headers["webhook-id"];
    assert.equal(app.fetches[1].headers["webhook-id"], id);
    assert.equal(target.stored()[id].rows[0].values.Status, "Lost");
  });

  test("a resend already running elsewhere makes resendPending do nothing", () => {
    const app = installed();
    app.network.offline = true;
    app.script.onChangeInstallable(changeEvent(app.spreadsheet, "REMOVE_ROW"));
    app.network.offline = false;
    app.lock.tryLock();
    app.script.resendPending();
    assert.equal(app.fetches.length, 1);
    app.lock.releaseLock();
    app.script.resendPending();
    accepted(app.fetches[1]);
  });

  test("the queue keeps the newest 200 events and logs each one it drops", () => {
    const app = installed();
    app.network.offline = true;
    for (let i = 0; i < 203; i++) {
      app.script.onEditInstallable(editEvent(app.sheet.write(2, 7, [[`note ${i}`]])));
    }
    const sent = app.fetches.map((f) => f.headers["webhook-id"]);
    assert.deepEqual(pendingIds(app), sent.slice(3));
    const drops = app.logs.warn.filter((line) => line.includes("dropped undelivered event"));
    assert.equal(drops.length, 3);
    sent.slice(0, 3).forEach((id, i) => assert.ok(drops[i].includes(id)));
  });
});
