/**
 * leadsync — sends edits of this sheet to leadsync as signed webhooks.
 *
 * Install (once):
 *   1. In the spreadsheet: Extensions → Apps Script, replace the editor's content with this
 *      file, save.
 *   2. Select the function `setup` and click Run; grant the permissions it asks for.
 *      setup() copies the URL and the secret below into the script properties and installs
 *      three triggers: on edit, on change, and a one-minute resend of failed deliveries.
 *   3. After setup() has run you may delete the LEADSYNC_SECRET line (or empty its value):
 *      the script reads the secret from the script properties from then on. Run setup() again
 *      (with the line restored) to change the secret or the URL.
 *
 * Every event is signed as a Standard Webhooks v1 sender (webhook-id, webhook-timestamp,
 * webhook-signature). An event that cannot be delivered (network error or an answer other than
 * 2xx) is kept in the script properties and resent with the same webhook-id, so leadsync
 * stores it once. At most MAX_PENDING events are kept; beyond that the oldest is dropped
 * (and logged) — leadsync's periodic reconciliation repairs what a dropped event missed.
 *
 * `leadsync apps-script` fills in the four values below.
 */

const LEADSYNC_URL = "{{LEADSYNC_URL}}";
const LEADSYNC_SECRET = "{{LEADSYNC_SECRET}}";
const SPREADSHEET_ID = "{{SPREADSHEET_ID}}";
const SHEET_NAME = "{{SHEET_NAME}}";

const MAX_PENDING = 200;
// Script properties hold at most 9 kB per value; events are split to stay under it.
const MAX_BODY_BYTES = 8000;
const MAX_PROPERTY_BYTES = 9000;
const RESEND_BUDGET_MS = 4 * 60 * 1000;
const URL_PROPERTY = "leadsync.url";
const SECRET_PROPERTY = "leadsync.secret";
const PENDING_PREFIX = "leadsync.pending.";
let queueSeq_ = 0;
const HANDLERS = ["onEditInstallable", "onChangeInstallable", "resendPending"];
const STRUCTURAL_CHANGES = ["INSERT_ROW", "REMOVE_ROW", "INSERT_GRID", "REMOVE_GRID", "OTHER"];

/** Stores URL and secret, replaces this script's triggers. Run once by hand. */
function setup() {
  const props = PropertiesService.getScriptProperties();
  const url = filledIn_(typeof LEADSYNC_URL === "undefined" ? "" : LEADSYNC_URL);
  const secret = filledIn_(typeof LEADSYNC_SECRET === "undefined" ? "" : LEADSYNC_SECRET);
  if (url) props.setProperty(URL_PROPERTY, url);
  if (secret) {
    if (secret.indexOf("whsec_") !== 0) throw new Error("LEADSYNC_SECRET must start with whsec_");
    props.setProperty(SECRET_PROPERTY, secret);
  }
  if (!props.getProperty(URL_PROPERTY) || !props.getProperty(SECRET_PROPERTY)) {
    throw new Error("Fill in LEADSYNC_URL and LEADSYNC_SECRET (see `leadsync apps-script`), then run setup() again.");
  }
  ScriptApp.getProjectTriggers().forEach(function (trigger) {
    if (HANDLERS.indexOf(trigger.getHandlerFunction()) !== -1) ScriptApp.deleteTrigger(trigger);
  });
  const id = filledIn_(SPREADSHEET_ID);
  const spreadsheet = id ? SpreadsheetApp.openById(id) : SpreadsheetApp.getActive();
  ScriptApp.newTrigger("onEditInstallable").forSpreadsheet(spreadsheet).onEdit().create();
  ScriptApp.newTrigger("onChangeInstallable").forSpreadsheet(spreadsheet).onChange().create();
  ScriptApp.newTrigger("resendPending").timeBased().everyMinutes(1).create();
  console.log("leadsync: triggers installed; events go to " + props.getProperty(URL_PROPERTY));
}

/** Installable on-edit trigger: sends every row the edit touched, all cells by header. */
function onEditInstallable(e) {
  if (!e || !e.range) return;
  const sheet = e.range.getSheet();
  if (sheet.getName() !== sheetName_()) return;
  const first = Math.max(e.range.getRow(), 2); // row 1 is the header
  const last = e.range.getRow() + e.range.getNumRows() - 1;
  const width = sheet.getLastColumn();
  if (last < first || width < 1) return;
  const headers = sheet.getRange(1, 1, 1, width).getDisplayValues()[0];
  const cells = sheet.getRange(first, 1, last - first + 1, width).getDisplayValues();
  // The columns the edit itself set; the row's other cells are only shown beside them.
  const fromCol = e.range.getColumn();
  const edited = headers.filter(function (header, col) {
    return header !== "" && col + 1 >= fromCol && col + 1 < fromCol + e.range.getNumColumns();
  });
  const rows = cells.map(function (rowCells, i) {
    const values = {};
    headers.forEach(function (header, col) {
      if (header !== "") values[header] = rowCells[col];
    });
    return { row: first + i, values: values, edited: edited };
  });
  const editedAt = new Date().toISOString();
  chunkRows_(rows, editedAt).forEach(function (body) {
    sendOrQueue_(body);
  });
}

/** Installable on-change trigger: rows inserted or removed make leadsync reconcile. */
function onChangeInstallable(e) {
  if (!e || STRUCTURAL_CHANGES.indexOf(String(e.changeType)) === -1) return;
  sendOrQueue_(JSON.stringify(envelope_("change", new Date().toISOString(), undefined)));
}

/** Time-driven trigger: resends undelivered events, oldest first, same webhook-id. */
function resendPending() {
  const lock = LockService.getScriptLock();
  if (!lock.tryLock(5000)) return; // another run is resending
  try {
    const props = PropertiesService.getScriptProperties();
    const deadline = Date.now() + RESEND_BUDGET_MS;
    const keys = pendingKeys_(props);
    for (let i = 0; i < keys.length && Date.now() < deadline; i++) {
      const raw = props.getProperty(keys[i]);
      if (!raw) continue;
      const item = JSON.parse(raw);
      const outcome = deliver_(item.id, item.body);
      if (outcome === "delivered") props.deleteProperty(keys[i]);
      // Unreachable now: the rest will fail the same way; try again next minute.
      if (outcome === "unreachable") break;
    }
  } finally {
    lock.releaseLock();
  }
}

function envelope_(kind, editedAt, rows) {
  const body = {
    spreadsheet_id: spreadsheetId_(),
    sheet: sheetName_(),
    kind: kind,
    edited_at: editedAt,
  };
  if (rows) body.rows = rows;
  return body;
}

/** Splits rows into bodies small enough to be queued in one script property. */
function chunkRows_(rows, editedAt) {
  const bodies = [];
  let batch = [];
  rows.forEach(function (row) {
    const candidate = batch.concat([row]);
    const body = JSON.stringify(envelope_("edit", editedAt, candidate));
    if (batch.length > 0 && utf8Length_(body) > MAX_BODY_BYTES) {
      bodies.push(JSON.stringify(envelope_("edit", editedAt, batch)));
      batch = [row];
    } else {
      batch = candidate;
    }
  });
  if (batch.length > 0) bodies.push(JSON.stringify(envelope_("edit", editedAt, batch)));
  return bodies;
}

function sendOrQueue_(body) {
  const id = "evt_" + Utilities.getUuid();
  if (deliver_(id, body) !== "delivered") queue_(id, body);
}

/** One signed POST. Returns "delivered", "refused" (non-2xx) or "unreachable" (exception). */
function deliver_(id, body) {
  const props = PropertiesService.getScriptProperties();
  const url = props.getProperty(URL_PROPERTY);
  const secret = props.getProperty(SECRET_PROPERTY);
  if (!url || !secret) {
    console.error("leadsync: run setup() first");
    return "unreachable";
  }
  // A fresh timestamp on every attempt: a resend must pass the receiver's tolerance window.
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers = {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": sign_(secret, id, timestamp, body),
  };
  try {
    const response = UrlFetchApp.fetch(url, {
      method: "post",
      // The charset makes UrlFetchApp send the exact UTF-8 bytes that were signed.
      contentType: "application/json; charset=utf-8",
      payload: body,
      headers: headers,
      muteHttpExceptions: true,
    });
    const code = response.getResponseCode();
    if (code >= 200 && code < 300) return "delivered";
    console.warn("leadsync: event " + id + " refused with HTTP " + code + ": " + response.getContentText());
    return "refused";
  } catch (err) {
    console.warn("leadsync: event " + id + " not delivered: " + err);
    return "unreachable";
  }
}

/** Standard Webhooks v1: base64(HMAC-SHA256(base64decode(secret after "whsec_"), id.ts.body)). */
function sign_(secret, id, timestamp, body) {
  const key = Utilities.base64Decode(secret.replace(/^whsec_/, ""));
  const message = Utilities.newBlob(id + "." + timestamp + "." + body).getBytes();
  return "v1," + Utilities.base64Encode(Utilities.computeHmacSha256Signature(message, key));
}

function queue_(id, body) {
  const props = PropertiesService.getScriptProperties();
  // Zero-padded milliseconds, then a counter for events of the same millisecond, keep the keys
  // in arrival order when sorted.
  queueSeq_ += 1;
  const key = PENDING_PREFIX + pad_(Date.now(), 15) + "." + pad_(queueSeq_, 6) + "." + id;
  const value = JSON.stringify({ id: id, body: body });
  if (utf8Length_(value) > MAX_PROPERTY_BYTES) {
    console.error("leadsync: event " + id + " is too large to keep for a resend; dropped");
    return;
  }
  let stored = false;
  let lastError = null;
  for (let attempt = 0; attempt < 5 && !stored; attempt++) {
    try {
      props.setProperty(key, value);
      stored = true;
    } catch (err) {
      lastError = err;
      // The property store is full (or the value too large): make room by dropping the oldest.
      if (!dropOldest_(props, "the property store is full")) break;
    }
  }
  if (!stored) {
    console.error("leadsync: could not keep event " + id + ": " + lastError);
    return;
  }
  while (pendingKeys_(props).length > MAX_PENDING) {
    dropOldest_(props, "more than " + MAX_PENDING + " events are waiting");
  }
}

function dropOldest_(props, why) {
  const keys = pendingKeys_(props);
  if (keys.length === 0) return false;
  const raw = props.getProperty(keys[0]);
  props.deleteProperty(keys[0]);
  const id = raw ? JSON.parse(raw).id : keys[0];
  console.warn("leadsync: dropped undelivered event " + id + " because " + why);
  return true;
}

function pendingKeys_(props) {
  return props.getKeys().filter(function (key) {
    return key.indexOf(PENDING_PREFIX) === 0;
  }).sort();
}

function spreadsheetId_() {
  return filledIn_(SPREADSHEET_ID) || SpreadsheetApp.getActive().getId();
}

function sheetName_() {
  return filledIn_(SHEET_NAME) || "Leads";
}

/** The value, or "" while it is still a {{PLACEHOLDER}}. */
function filledIn_(value) {
  const text = String(value || "").trim();
  return /^\{\{[A-Z_]+\}\}$/.test(text) ? "" : text;
}

function pad_(number, width) {
  return ("0".repeat(width) + number).slice(-width);
}

function utf8Length_(text) {
  return Utilities.newBlob(text).getBytes().length;
}
