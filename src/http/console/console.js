"use strict";
// The leadsync console. The admin token is kept in sessionStorage (this tab only, gone when it
// closes) and sent as a Bearer header on every data request: never in a URL, never in a cookie.
// The server renders every piece of HTML (escaped); this script only fetches and swaps them.
const KEY = "leadsync.admin_token";
const POLL_MS = 3000;
const $ = (selector) => document.querySelector(selector);
let view = "overview";
let activityQuery = "";
let activityPaged = false;

async function call(method, path) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: "Bearer " + sessionStorage.getItem(KEY) },
    cache: "no-store",
    credentials: "omit",
  });
  if (response.status === 401) {
    logout("The admin token was not accepted.");
    throw new Error("unauthorized");
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try { message = JSON.parse(text).error; } catch (_) { /* not JSON: keep the text */ }
    throw new Error(message || response.statusText);
  }
  return text;
}

async function load(target, method, path) {
  try {
    $(target).innerHTML = await call(method, path);
    $("#error").textContent = "";
  } catch (error) {
    if (error.message !== "unauthorized") $("#error").textContent = error.message;
  }
}

function show(name) {
  view = name;
  document.querySelectorAll("[data-view]").forEach((s) => { s.hidden = s.dataset.view !== name; });
  document.querySelectorAll("[data-tab]").forEach((b) => {
    b.classList.toggle("active", b.dataset.tab === name);
  });
  if (name === "actions") load("#actions", "GET", "/admin/ui/actions");
  refresh();
}

// The overview, and the activity's newest page, refresh by short polling while visible.
function refresh() {
  if (!sessionStorage.getItem(KEY) || document.hidden) return;
  if (view === "overview") load("#overview", "GET", "/admin/ui/overview");
  if (view === "activity" && !activityPaged) {
    load("#activity", "GET", "/admin/ui/activity?" + activityQuery);
  }
}

function loggedIn() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#tabs").hidden = false;
  show(view);
}

function logout(message) {
  sessionStorage.removeItem(KEY);
  document.querySelectorAll("#overview, #webhook-check, #activity, #activity-result, #lead, #actions, #action-result")
    .forEach((e) => { e.innerHTML = ""; });
  $("#app").hidden = true;
  $("#tabs").hidden = true;
  $("#login").hidden = false;
  $("#error").textContent = message || "";
}

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("#token").value.trim());
  $("#token").value = "";
  try {
    await call("GET", "/admin/ui/overview");
    loggedIn();
  } catch (error) {
    if (error.message !== "unauthorized") $("#error").textContent = error.message;
  }
});

$("#filters").addEventListener("submit", (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  new FormData($("#filters")).forEach((value, key) => { if (value) params.set(key, value); });
  activityQuery = params.toString();
  activityPaged = false;
  refresh();
});

async function copy(from) {
  const text = $(from).textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {
    // No clipboard API (not a secure context): select the text for Ctrl+C instead.
    window.getSelection().selectAllChildren($(from));
  }
}

// Buttons in server-rendered fragments say what they do with data attributes.
document.addEventListener("click", (event) => {
  const el = event.target.closest("[data-tab], [data-post], [data-get], [data-copy], #logout");
  if (!el) return;
  event.preventDefault();
  if (el.id === "logout") return logout("");
  if (el.dataset.tab) return show(el.dataset.tab);
  if (el.dataset.copy) return copy(el.dataset.copy);
  if (el.dataset.page) activityPaged = el.dataset.page !== "first";
  if (el.dataset.show) show(el.dataset.show);
  if (el.dataset.post) return load(el.dataset.target, "POST", el.dataset.post);
  return load(el.dataset.target, "GET", el.dataset.get);
});

setInterval(refresh, POLL_MS);
if (sessionStorage.getItem(KEY)) loggedIn();
