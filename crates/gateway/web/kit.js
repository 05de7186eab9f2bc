// The web UI kit every system's pages stand on, served by every gateway at /kit.js: sign-in with
// OAuth 2.0 authorization code + PKCE, the API with the bearer token (refreshed once on 401),
// Korean / English texts, status badges, lists patched row by row (a row that did not change is
// left alone, so what someone is typing in it survives), live updates pushed by server-sent events
// read with a streaming fetch() that sends the Authorization header (tokens never in a URL), and
// the operator's live system view. A system's app.js declares TEXT (its words) and calls
// kit.start({ screens, ... }). Plain JavaScript, no build step.
"use strict";

const KIT_TEXT = {
  ko: {
    skip: "본문으로 건너뛰기", signIn: "로그인", signOut: "로그아웃", apiDocs: "API 문서", failed: "요청을 처리하지 못했습니다",
    busy: "결제가 지연되고 있습니다. 잠시 후 다시 시도해 주세요.", live: "상태는 자동으로 갱신됩니다.",
    signedInAs: (n) => `${n} 님`, sessionEnded: "다시 로그인해 주세요.", up: "정상", down: "응답 없음",
    system: "시스템 현황", service: "서비스", health: "상태", breakers: "서킷 브레이커", backlog: "아웃박스",
    lag: "컨슈머 지연", deadLetters: "데드레터", events: "최근 이벤트", time: "시각", type: "이벤트",
    correlation: "상관 키", handledBy: "처리한 서비스", living: "살아 있는 문서", board: "이벤트 스토밍 보드",
    contextMap: "컨텍스트 맵",
    status: { Ready: "정상", not_ready: "준비 안 됨", Approved: "결제 완료", Declined: "거절", Refunded: "환불됨", Voided: "무효" },
  },
  en: {
    skip: "Skip to content", signIn: "Sign in", signOut: "Sign out", apiDocs: "API docs", failed: "The request failed",
    busy: "Payment is busy, try again shortly.", live: "Statuses update by themselves.",
    signedInAs: (n) => n, sessionEnded: "Please sign in again.", up: "up", down: "down",
    system: "System", service: "Service", health: "Health", breakers: "Circuit breakers", backlog: "Outbox backlog",
    lag: "Consumer lag", deadLetters: "Dead letters", events: "Latest events", time: "Time", type: "Event",
    correlation: "Correlation key", handledBy: "Handled by", living: "Living documentation", board: "Event-storming board",
    contextMap: "Context map", status: {},
  },
};

let lang = localStorage.getItem("lang") || (navigator.language.startsWith("ko") ? "ko" : "en");
const t = (key) => TEXT[lang][key] ?? KIT_TEXT[lang][key] ?? TEXT.ko[key] ?? KIT_TEXT.ko[key] ?? key;
const statusText = (s) => (s ? TEXT[lang].status?.[s] ?? KIT_TEXT[lang].status[s] ?? s : "—");
const won = (n) => new Intl.NumberFormat(lang === "ko" ? "ko-KR" : "en-US", { style: "currency", currency: "KRW" }).format(n);
const $ = (selector) => document.querySelector(selector);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

let config = null;
let me = null;

function say(text, kind = "") {
  const box = $("#message");
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = !text;
}

function translate() {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("#lang").textContent = lang === "ko" ? "EN" : "한국어";
}

// --- Sign-in: authorization code + PKCE ---------------------------------------------------
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const randomString = () => b64url(crypto.getRandomValues(new Uint8Array(32)));

async function signIn() {
  const verifier = randomString();
  const state = randomString();
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem("pkce", JSON.stringify({ verifier, state }));
  const url = new URL(config.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: "code", client_id: config.clientId, redirect_uri: config.redirectUri, scope: config.scope,
    state, code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign(url);
}

async function tokenRequest(params) {
  const response = await fetch(config.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: config.clientId, ...params }),
  });
  if (!response.ok) throw new Error((await response.json().catch(() => ({}))).error_description || response.statusText);
  const tokens = await response.json();
  sessionStorage.setItem("tokens", JSON.stringify(tokens));
  return tokens;
}

async function finishSignIn() {
  const query = new URLSearchParams(location.search);
  if (!query.has("code") && !query.has("error")) return;
  history.replaceState(null, "", "/");
  const pkce = JSON.parse(sessionStorage.getItem("pkce") || "null");
  sessionStorage.removeItem("pkce");
  if (query.has("error") || !pkce || pkce.state !== query.get("state")) {
    say(`${t("failed")}: ${query.get("error") || "state"}`, "error");
    return;
  }
  await tokenRequest({ grant_type: "authorization_code", code: query.get("code"), redirect_uri: config.redirectUri, code_verifier: pkce.verifier });
}

async function signOut() {
  const tokens = JSON.parse(sessionStorage.getItem("tokens") || "null");
  sessionStorage.removeItem("tokens");
  if (tokens?.refresh_token && config.revocationEndpoint) {
    await fetch(config.revocationEndpoint, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: tokens.refresh_token }) }).catch(() => {});
  }
  location.assign("/");
}

// --- API ---------------------------------------------------------------------------------
function authorization() {
  const tokens = JSON.parse(sessionStorage.getItem("tokens") || "null");
  return tokens ? { authorization: `Bearer ${tokens.access_token}` } : {};
}

async function refreshTokens() {
  const tokens = JSON.parse(sessionStorage.getItem("tokens") || "null");
  if (!tokens?.refresh_token) return false;
  try {
    await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });
    return true;
  } catch {
    sessionStorage.removeItem("tokens");
    say(t("sessionEnded"), "error");
    render();
    return false;
  }
}

async function api(path, options = {}, retried = false) {
  const headers = { ...(options.headers || {}), ...authorization() };
  if (options.body) headers["content-type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && !retried && (await refreshTokens())) return api(path, options, true);
  const body = await response.json().catch(() => null);
  return { status: response.status, body, headers: response.headers };
}

// --- Live updates: server-sent events over a streaming fetch --------------------------------
// EventSource cannot send an Authorization header, so the stream is read by hand. Reconnects
// after a drop with Last-Event-ID; `onChange(data)` runs for each change and with null after a
// reset or a reconnect (look again). Returns a function that stops it.
function live(path, onChange) {
  let stopped = false;
  let controller = null;
  let lastId = null;
  (async () => {
    let pause = 500;
    while (!stopped) {
      controller = new AbortController();
      try {
        const headers = { accept: "text/event-stream", ...authorization() };
        if (lastId) headers["last-event-id"] = lastId;
        const response = await fetch(path, { headers, signal: controller.signal });
        if (response.status === 401 && (await refreshTokens())) continue;
        if (!response.ok) throw new Error(response.status);
        if (lastId) onChange(null);
        pause = 500;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const field = (name) => block.split("\n").filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2)).join("\n");
            if (field("id")) lastId = field("id");
            const event = field("event");
            if (event === "changed") onChange(JSON.parse(field("data") || "null"));
            else if (event === "reset") onChange(null);
          }
        }
      } catch (error) {
        if (stopped) return;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 10000);
    }
  })();
  return () => { stopped = true; controller?.abort(); };
}

// --- Lists patched row by row ---------------------------------------------------------------
// `items` in order; `key(item)` names a row, `version(item)` says when it must be drawn again,
// `row(item)` draws it (an <li>). Rows whose version did not change stay as they are.
function patchList(list, items, key, version, row, empty) {
  const placed = new Set();
  let previous = null;
  for (const item of items) {
    let element = list.querySelector(`[data-key="${CSS.escape(key(item))}"]`);
    const drawn = `${version(item)}|${lang}`;
    if (!element || element.dataset.version !== drawn) {
      const fresh = row(item);
      fresh.dataset.key = key(item);
      fresh.dataset.version = drawn;
      element?.remove();
      element = fresh;
    }
    if (element.previousElementSibling !== previous || !element.isConnected) {
      if (previous) previous.after(element); else list.prepend(element);
    }
    placed.add(element);
    previous = element;
  }
  for (const child of [...list.children]) if (!placed.has(child)) child.remove();
  if (!items.length) list.innerHTML = `<li class="hint empty">${esc(empty)}</li>`;
}

function element(html) {
  const item = document.createElement("li");
  item.innerHTML = html;
  return item;
}

function badge(key, value) {
  const kind = /Failed|Declined|Canceled|Voided|Refunded/.test(value ?? "") ? "bad" : /Pending|Requested/.test(value ?? "") ? "warn" : value ? "ok" : "";
  return `<span class="badge ${kind}">${esc(t(key))}: <span class="${key}-status" data-status="${esc(value ?? "")}">${esc(statusText(value))}</span></span>`;
}

// --- The operator's system view ----------------------------------------------------------
const ADMIN_HTML = `<section class="card"><h2 data-i18n="system"></h2>
  <div class="table-wrap"><table id="system"><thead><tr><th data-i18n="service"></th><th data-i18n="health"></th>
  <th data-i18n="breakers"></th><th data-i18n="backlog"></th><th data-i18n="lag"></th><th data-i18n="deadLetters"></th></tr></thead><tbody></tbody></table></div></section>
  <section class="card"><h2 data-i18n="events"></h2><div class="table-wrap"><table id="events"><thead><tr><th data-i18n="time"></th>
  <th data-i18n="type"></th><th data-i18n="correlation"></th><th data-i18n="handledBy"></th></tr></thead><tbody></tbody></table></div></section>
  <section class="card"><h2 data-i18n="living"></h2><p class="hint"><a href="/board" id="board-link" data-i18n="board"></a> ·
  <a href="/board?map" data-i18n="contextMap"></a> · <a href="/api/asyncapi.json">AsyncAPI</a> · <a href="/api/docs">OpenAPI</a></p></section>`;

async function refreshSystem() {
  const [{ body: system }, { body: events }] = await Promise.all([api("/api/admin/system"), api("/api/admin/events?limit=30")]);
  if (system) {
    $("#system tbody").innerHTML = system.services.map((s) => {
      const status = s.status ?? {};
      const lag = (status.consumers ?? []).flatMap((c) => Object.values(c.lag ?? {})).reduce((a, b) => a + b, 0);
      const breakers = (status.breakers ?? []).map((b) => `${b.dependency}: ${b.state}`).join(", ") || "—";
      const health = s.up ? status.ready?.status ?? t("up") : t("down");
      return `<tr data-service="${esc(s.service)}"><td>${esc(s.service)}<br><code>${esc(s.url)}</code></td>
        <td>${badge("health", health === "ready" ? "Ready" : health)}</td><td>${esc(breakers)}</td>
        <td>${status.outbox_backlog ?? "—"}</td><td>${lag}</td><td>${status.dead_letters ?? "—"}</td></tr>`;
    }).join("");
  }
  if (events) {
    $("#events tbody").innerHTML = events.events.map((e) => `<tr><td>${esc(new Date(e.time).toLocaleTimeString(lang))}</td>
      <td><code>${esc(e.type)}</code></td><td><code>${esc(e.subject)}</code></td><td>${esc((e.handledBy ?? []).join(", "))}</td></tr>`).join("");
  }
}

// --- Screens -------------------------------------------------------------------------------
// `app.brand`: an icon for the top bar (HTML);
// `app.screens`: [{ role, section (a selector), refresh(), live: path of an event stream }],
// the first whose role the caller has is shown (admins get the system view, and the system's
// own `admin` screen if it has one); `app.ready()`
// runs once the configuration is known, `app.shown(screen)` when a screen is shown.
let app = null;
let timer = null;
let stopLive = null;

async function render() {
  clearInterval(timer);
  stopLive?.();
  stopLive = null;
  const sections = ["#welcome", "#admin", ...app.screens.map((s) => s.section)];
  for (const id of sections) $(id).hidden = true;
  me = null;
  if (sessionStorage.getItem("tokens")) {
    const { status, body } = await api("/api/me");
    if (status === 200) me = body;
  }
  $("#sign-out").hidden = !me;
  $("#who").textContent = me ? t("signedInAs")(me.subject) : "";
  if (!me) {
    $("#welcome").hidden = false;
    return;
  }
  let screen = app.screens.find((s) => me.roles.includes(s.role));
  if (me.roles.includes("admin")) {
    const own = app.screens.find((s) => s.role === "admin");
    screen = { section: "#admin", refresh: async () => { await refreshSystem(); await own?.refresh(); } };
    if (own) $(own.section).hidden = false;
  }
  if (!screen) return;
  $(screen.section).hidden = false;
  app.shown?.(screen);
  await screen.refresh();
  if (screen.live) {
    stopLive = live(screen.live, () => screen.refresh());
    timer = setInterval(screen.refresh, 30000);
  } else {
    timer = setInterval(screen.refresh, 2000);
  }
}

// The frame every system's page shares: skip link, top bar (brand, who, language, sign-out),
// message line, and the welcome section; a system's index.html holds only its own sections.
function frame(brand) {
  const main = $("#main");
  main.insertAdjacentHTML("beforebegin", `<a class="skip" href="#main" data-i18n="skip"></a>
    <header class="top"><div class="brand">${brand ?? ""} <span data-i18n="title"></span></div>
    <nav aria-label="account" class="account"><span id="who" aria-live="polite"></span>
    <button id="lang" type="button" aria-label="Language / 언어">EN</button>
    <button id="sign-out" type="button" hidden data-i18n="signOut"></button></nav></header>
    <div id="message" role="status" aria-live="polite" class="message" hidden></div>`);
  main.insertAdjacentHTML("afterbegin", `<section id="welcome" class="card" hidden><h1 data-i18n="welcome"></h1>
    <p data-i18n="welcomeText"></p><button id="sign-in" type="button" class="primary" data-i18n="signIn"></button>
    <p class="hint"><a href="/api/docs" data-i18n="apiDocs"></a></p></section>`);
}

async function start(system) {
  app = system;
  frame(app.brand);
  const admin = document.createElement("section");
  admin.id = "admin";
  admin.hidden = true;
  admin.innerHTML = ADMIN_HTML;
  $("#main").append(admin);
  translate();
  $("#lang").addEventListener("click", () => {
    lang = lang === "ko" ? "en" : "ko";
    localStorage.setItem("lang", lang);
    translate();
    render();
  });
  $("#sign-in").addEventListener("click", signIn);
  $("#sign-out").addEventListener("click", signOut);
  config = await (await fetch("/ui/config.json")).json();
  await app.ready?.();
  try {
    await finishSignIn();
  } catch (error) {
    say(`${t("failed")}: ${error.message}`, "error");
  }
  await render();
}

const kit = { start, api, live, say, badge, patchList, element, render, randomString };
