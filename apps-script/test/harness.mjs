// Runs apps-script/Code.gs under Node with stand-ins for the Apps Script services it uses.
// UrlFetchApp does real HTTP (blocking, like Apps Script) through a child process; Utilities
// does real HMAC-SHA256 and returns signed byte arrays as Apps Script does.
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { Worker } from "node:worker_threads";

const here = path.dirname(fileURLToPath(import.meta.url));
export const CODE_PATH = path.join(here, "..", "Code.gs");
// Outside test/: node --test runs every .mjs under a folder named test.
const support = path.join(here, "..", "test-support");
const PROPERTY_VALUE_LIMIT = 9 * 1024;
const PROPERTY_STORE_LIMIT = 500 * 1024;

// ---- bytes as Apps Script sees them (Java byte[]: numbers -128..127) ----

export function toSignedBytes(buffer) {
  return Array.from(buffer, (b) => (b > 127 ? b - 256 : b));
}

function bytesOf(data, what) {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (Array.isArray(data) && data.every((b) => Number.isInteger(b) && b >= -128 && b <= 127)) {
    return Buffer.from(data.map((b) => b & 0xff));
  }
  throw new TypeError(`${what}: expected a string or a Byte[] of -128..127`);
}

function makeUtilities() {
  return {
    computeHmacSha256Signature(value, key) {
      const mac = crypto.createHmac("sha256", bytesOf(key, "key"));
      return toSignedBytes(mac.update(bytesOf(value, "value")).digest());
    },
    base64Encode: (data) => bytesOf(data, "base64Encode").toString("base64"),
    base64Decode: (text) => toSignedBytes(Buffer.from(String(text), "base64")),
    getUuid: () => crypto.randomUUID(),
    newBlob(data) {
      const bytes = bytesOf(data, "newBlob");
      return {
        getBytes: () => toSignedBytes(bytes),
        getDataAsString: () => bytes.toString("utf8"),
      };
    },
  };
}

// ---- SpreadsheetApp ----

class FakeRange {
  constructor(sheet, row, column, numRows, numColumns) {
    Object.assign(this, { sheet, row, column, numRows, numColumns });
  }
  getSheet() { return this.sheet; }
  getRow() { return this.row; }
  getColumn() { return this.column; }
  getNumRows() { return this.numRows; }
  getNumColumns() { return this.numColumns; }
  getLastRow() { return this.row + this.numRows - 1; }
  getDisplayValues() {
    const out = [];
    for (let r = 0; r < this.numRows; r++) {
      const line = this.sheet.grid[this.row - 1 + r] || [];
      const cells = [];
      for (let c = 0; c < this.numColumns; c++) cells.push(String(line[this.column - 1 + c] ?? ""));
      out.push(cells);
    }
    return out;
  }
  getValues() { return this.getDisplayValues(); }
}

export class FakeSheet {
  constructor(spreadsheet, name, grid) {
    Object.assign(this, { spreadsheet, name, grid });
  }
  getName() { return this.name; }
  getParent() { return this.spreadsheet; }
  getLastRow() { return this.grid.length; }
  getLastColumn() { return Math.max(0, ...this.grid.map((line) => line.length)); }
  getRange(row, column, numRows = 1, numColumns = 1) {
    if (row < 1 || column < 1 || numRows < 1 || numColumns < 1) throw new Error("Range out of bounds");
    return new FakeRange(this, row, column, numRows, numColumns);
  }
  /** Test helper: what a user typing or pasting does; returns the edited range. */
  write(row, column, values) {
    values.forEach((cells, r) => {
      while (this.grid.length < row + r) this.grid.push([]);
      cells.forEach((value, c) => { this.grid[row - 1 + r][column - 1 + c] = value; });
    });
    return this.getRange(row, column, values.length, values[0].length);
  }
}

export class FakeSpreadsheet {
  constructor(id) { this.id = id; this.sheets = []; }
  getId() { return this.id; }
  getSheets() { return this.sheets; }
  getSheetByName(name) { return this.sheets.find((s) => s.name === name) || null; }
  addSheet(name, grid) { const sheet = new FakeSheet(this, name, grid); this.sheets.push(sheet); return sheet; }
}

export function editEvent(range) {
  return { range, source: range.getSheet().getParent(), authMode: "FULL", triggerUid: "1", user: {} };
}

export function changeEvent(spreadsheet, changeType) {
  return { changeType, source: spreadsheet, authMode: "FULL", triggerUid: "2", user: {} };
}

// ---- ScriptApp, PropertiesService, LockService ----

function makeScriptApp(triggers) {
  let next = 1;
  const add = (handler, eventType, sourceId) => {
    const uid = String(next++);
    const trigger = {
      getHandlerFunction: () => handler,
      getEventType: () => eventType,
      getUniqueId: () => uid,
      getTriggerSourceId: () => sourceId,
    };
    triggers.push(trigger);
    return trigger;
  };
  return {
    EventType: { ON_EDIT: "ON_EDIT", ON_CHANGE: "ON_CHANGE", CLOCK: "CLOCK" },
    getProjectTriggers: () => triggers.slice(),
    deleteTrigger(trigger) {
      const i = triggers.findIndex((t) => t.getUniqueId() === trigger.getUniqueId());
      if (i === -1) throw new Error("no such trigger");
      triggers.splice(i, 1);
    },
    newTrigger(handler) {
      return {
        forSpreadsheet(source) {
          const id = typeof source === "string" ? source : source.getId();
          return {
            onEdit: () => ({ create: () => add(handler, "ON_EDIT", id) }),
            onChange: () => ({ create: () => add(handler, "ON_CHANGE", id) }),
          };
        },
        timeBased() {
          return {
            everyMinutes(n) {
              if (![1, 5, 10, 15, 30].includes(n)) throw new Error("everyMinutes: 1, 5, 10, 15 or 30");
              return { create: () => add(handler, "CLOCK", null) };
            },
          };
        },
      };
    },
    /** Test helper: a trigger left from an earlier install or another function. */
    addExisting: (handler, eventType) => add(handler, eventType, null),
  };
}

export class FakeProperties {
  constructor() { this.map = new Map(); }
  getProperty(key) { return this.map.has(key) ? this.map.get(key) : null; }
  getKeys() { return [...this.map.keys()]; }
  getProperties() { return Object.fromEntries(this.map); }
  deleteProperty(key) { this.map.delete(key); return this; }
  setProperty(key, value) {
    const text = String(value);
    if (Buffer.byteLength(text) > PROPERTY_VALUE_LIMIT) throw new Error("Exception: Argument too large: value");
    const others = [...this.map].filter(([k]) => k !== key).reduce((n, [k, v]) => n + Buffer.byteLength(k + v), 0);
    if (others + Buffer.byteLength(key + text) > PROPERTY_STORE_LIMIT) {
      throw new Error("Exception: You have exceeded the property storage quota.");
    }
    this.map.set(key, text);
    return this;
  }
}

function makeLock() {
  return {
    held: false,
    tryLock() { if (this.held) return false; this.held = true; return true; },
    waitLock() { if (!this.tryLock()) throw new Error("Lock timeout"); },
    hasLock() { return this.held; },
    releaseLock() { this.held = false; },
  };
}

// ---- UrlFetchApp ----

function makeUrlFetchApp(network, fetches) {
  return {
    fetch(url, params = {}) {
      const headers = { ...(params.headers || {}) };
      if (params.contentType) headers["content-type"] = params.contentType;
      const body = params.payload === undefined ? Buffer.alloc(0) : bytesOf(params.payload, "payload");
      const entry = { url, headers, body: body.toString("utf8") };
      fetches.push(entry);
      if (network.offline) {
        entry.error = "offline";
        throw new Error(`Exception: Address unavailable: ${url}`);
      }
      const out = JSON.parse(
        execFileSync(process.execPath, [path.join(support, "fetch-child.mjs")], {
          input: JSON.stringify({ url, method: (params.method || "get").toUpperCase(), headers, bodyBase64: body.toString("base64") }),
          timeout: 20000,
        }).toString("utf8"),
      );
      if (out.error) {
        entry.error = out.error;
        throw new Error(`Exception: Address unavailable: ${url}`);
      }
      Object.assign(entry, { status: out.status, response: out.body });
      if (out.status >= 400 && !params.muteHttpExceptions) {
        throw new Error(`Exception: Request failed for ${url} returned code ${out.status}`);
      }
      return { getResponseCode: () => out.status, getContentText: () => out.body };
    },
  };
}

// ---- loading Code.gs ----

/** Fills the placeholders as `leadsync apps-script` does: JSON string escaping, no quotes. */
export function fillTemplate(source, values) {
  let text = source;
  for (const [name, value] of Object.entries(values)) {
    text = text.split(`{{${name}}}`).join(JSON.stringify(String(value)).slice(1, -1));
  }
  return text;
}

export const HEADER = ["Lead ID", "Name", "Email", "Phone", "Company", "Status", "Notes"];

/**
 * Loads Code.gs for `target` ({url, secret, spreadsheetId, sheet}) over a spreadsheet with a
 * header row and `rows`. `transform` may edit the filled-in source first.
 */
export function loadScript(target, { rows = [], transform = (s) => s } = {}) {
  const source = transform(
    fillTemplate(fs.readFileSync(CODE_PATH, "utf8"), {
      LEADSYNC_URL: target.url,
      LEADSYNC_SECRET: target.secret,
      SPREADSHEET_ID: target.spreadsheetId,
      SHEET_NAME: target.sheet,
    }),
  );
  const spreadsheet = new FakeSpreadsheet(target.spreadsheetId);
  const sheet = spreadsheet.addSheet(target.sheet, [HEADER.slice(), ...rows.map((r) => r.slice())]);
  const other = spreadsheet.addSheet("Notes", [["Anything"]]);
  const props = new FakeProperties();
  const triggers = [];
  const fetches = [];
  const network = { offline: false };
  const logs = { log: [], warn: [], error: [] };
  const lock = makeLock();
  const scriptApp = makeScriptApp(triggers);
  const record = (level) => (...args) => {
    logs[level].push(args.join(" "));
    if (process.env.TEST_LOG) process.stderr.write(`[${level}] ${args.join(" ")}\n`);
  };
  const context = vm.createContext({
    SpreadsheetApp: {
      getActive: () => spreadsheet,
      getActiveSpreadsheet: () => spreadsheet,
      openById: (id) => {
        if (id !== spreadsheet.getId()) throw new Error(`No spreadsheet ${id}`);
        return spreadsheet;
      },
    },
    ScriptApp: scriptApp,
    PropertiesService: { getScriptProperties: () => props },
    LockService: { getScriptLock: () => lock },
    UrlFetchApp: makeUrlFetchApp(network, fetches),
    Utilities: makeUtilities(),
    console: { log: record("log"), info: record("log"), warn: record("warn"), error: record("error") },
  });
  vm.runInContext(source, context, { filename: "Code.gs" });
  return { script: context, spreadsheet, sheet, other, props, triggers, scriptApp, fetches, network, logs, lock };
}

/** Checks a delivery's Standard Webhooks signature independently of the script. */
export function signatureIsValid(secret, headers, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const message = Buffer.concat([
    Buffer.from(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.`),
    Buffer.from(body, "utf8"),
  ]);
  const expected = crypto.createHmac("sha256", key).update(message).digest("base64");
  return headers["webhook-signature"].split(" ").includes(`v1,${expected}`);
}

/** A POST that bypasses the script (e.g. to replay a delivery), through the same blocking path. */
export function post(url, headers, body) {
  const fetches = [];
  const app = makeUrlFetchApp({ offline: false }, fetches);
  const response = app.fetch(url, { method: "post", payload: body, headers, muteHttpExceptions: true });
  return { status: response.getResponseCode(), body: JSON.parse(response.getContentText() || "null") };
}

/** The receiver under test: the running leadsync from the env, else a local verifier. */
export async function startTarget() {
  if (process.env.LEADSYNC_TEST_URL) {
    return {
      local: false,
      url: process.env.LEADSYNC_TEST_URL,
      secret: process.env.LEADSYNC_TEST_SECRET || "",
      spreadsheetId: process.env.LEADSYNC_TEST_SPREADSHEET_ID || "sheet-under-test",
      sheet: process.env.LEADSYNC_TEST_SHEET || "Leads",
      stop: async () => {},
    };
  }
  const secret = "whsec_" + crypto.randomBytes(24).toString("base64");
  const worker = new Worker(path.join(support, "verifier.mjs"), { workerData: { secret } });
  const { port } = await new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    local: true,
    url: `${base}/webhooks/sheets`,
    secret,
    spreadsheetId: "sheet-under-test",
    sheet: "Leads",
    failNext: (n) => post(`${base}/__fail`, {}, String(n)),
    stored: () => post(`${base}/__stored`, {}, "").body,
    stop: async () => { worker.postMessage("stop"); await new Promise((r) => worker.once("exit", r)); },
  };
}
