// The roaming web UI: sign-in with OAuth 2.0 authorization code + PKCE, then the customer's
// reservation form and my page, the booth's queue, or the operator's system view — all through
// the gateway's API with the bearer token. Plain JavaScript, no build step.
"use strict";

const TEXT = {
  ko: {
    skip: "본문으로 건너뛰기", title: "로밍 단말기 대여", signIn: "로그인", signOut: "로그아웃", apiDocs: "API 문서",
    welcome: "인천·김포·김해 공항에서 로밍 단말기를 받아 가세요",
    welcomeText: "예약하고 결제하면 공항 부스에서 단말기를 받고, 돌아와서 부스에 반납합니다.",
    reserve: "예약하기", device: "단말기", country: "방문 국가", booth: "수령 부스", rentalDate: "대여일", returnDate: "반납일",
    card: "카드 번호", payAndReserve: "결제하고 예약하기", myPage: "마이페이지", live: "상태는 자동으로 갱신됩니다.",
    boothQueue: "부스 대기열", system: "시스템 현황", service: "서비스", health: "상태", breakers: "서킷 브레이커",
    backlog: "아웃박스", lag: "컨슈머 지연", deadLetters: "데드레터", events: "최근 이벤트", time: "시각", type: "이벤트",
    correlation: "상관 키 (예약 번호)", handledBy: "처리한 서비스",
    price: (amount, days, rate) => `요금 ${won(amount)} (${days}일 × ${won(rate)})`,
    priceInvalid: "반납일은 대여일 이후여야 합니다",
    reserved: "예약되었습니다. 결제가 완료되었습니다.", declined: "카드가 거절되었습니다. 다른 카드로 시도해 주세요.",
    noFunds: "잔액이 부족합니다. 다른 카드로 시도해 주세요.",
    busy: "결제가 지연되고 있습니다. 잠시 후 다시 시도해 주세요.", failed: "요청을 처리하지 못했습니다",
    cancel: "예약 취소", returnDevice: "반납하기", cancelAsked: "취소를 요청했습니다. 부스 확인 후 환불됩니다.",
    returned: "반납이 접수되었습니다.", empty: "아직 예약이 없습니다.", queueEmpty: "대기 중인 대여가 없습니다.",
    handOut: "단말기 지급", collect: "회수", serial: "단말기 일련번호", handedOut: "지급했습니다.", collected: "회수했습니다.",
    reservation: "예약", payment: "결제", rental: "대여", refused: "취소 거절", signedInAs: (n) => `${n} 님`,
    sessionEnded: "다시 로그인해 주세요.", up: "정상", down: "응답 없음",
    status: {
      PaymentPending: "결제 대기", Reserved: "예약 완료", ReserveFailed: "예약 실패", CancelRequested: "취소 요청됨",
      Canceled: "취소됨", HandedOut: "사용 중", Returned: "반납됨", Completed: "완료", Approved: "결제 완료",
      Declined: "거절", Refunded: "환불됨", Voided: "무효", Accepted: "부스 접수", Collected: "회수 완료",
      Ready: "정상", not_ready: "준비 안 됨",
    },
  },
  en: {
    skip: "Skip to content", title: "Roaming device rental", signIn: "Sign in", signOut: "Sign out", apiDocs: "API docs",
    welcome: "Pick up a roaming device at Incheon, Gimpo or Gimhae airport",
    welcomeText: "Reserve and pay, get the device at the airport booth, and hand it back there when you return.",
    reserve: "Reserve", device: "Device", country: "Destination", booth: "Pickup booth", rentalDate: "Pickup day",
    returnDate: "Return day", card: "Card number", payAndReserve: "Pay and reserve", myPage: "My page",
    live: "Statuses update by themselves.", boothQueue: "Booth queue", system: "System", service: "Service",
    health: "Health", breakers: "Circuit breakers", backlog: "Outbox backlog", lag: "Consumer lag",
    deadLetters: "Dead letters", events: "Latest events", time: "Time", type: "Event",
    correlation: "Correlation key (reservation)", handledBy: "Handled by",
    price: (amount, days, rate) => `Price ${won(amount)} (${days} days × ${won(rate)})`,
    priceInvalid: "The return day must be after the pickup day",
    reserved: "Reserved and paid.", declined: "The card was declined. Try another card.",
    noFunds: "Insufficient funds. Try another card.", busy: "Payment is busy, try again shortly.",
    failed: "The request failed", cancel: "Cancel", returnDevice: "Return device",
    cancelAsked: "Cancellation requested; the booth confirms and the payment is refunded.",
    returned: "The return is recorded.", empty: "No reservations yet.", queueEmpty: "Nothing waiting at this booth.",
    handOut: "Hand out", collect: "Collect", serial: "Device serial", handedOut: "Handed out.", collected: "Collected.",
    reservation: "Reservation", payment: "Payment", rental: "Booth", refused: "Cancel refused",
    signedInAs: (n) => n, sessionEnded: "Please sign in again.", up: "up", down: "down",
    status: {},
  },
};

let lang = localStorage.getItem("lang") || (navigator.language.startsWith("ko") ? "ko" : "en");
const t = (key) => TEXT[lang][key] ?? TEXT.ko[key] ?? key;
const statusText = (s) => (s ? TEXT[lang].status[s] ?? s : "—");
const won = (n) => new Intl.NumberFormat(lang === "ko" ? "ko-KR" : "en-US", { style: "currency", currency: "KRW" }).format(n);
const $ = (selector) => document.querySelector(selector);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

let config = null;
let me = null;
let catalog = null;
let timer = null;

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
async function api(path, options = {}, retried = false) {
  const tokens = JSON.parse(sessionStorage.getItem("tokens") || "null");
  const headers = { ...(options.headers || {}) };
  if (tokens) headers.authorization = `Bearer ${tokens.access_token}`;
  if (options.body) headers["content-type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && tokens?.refresh_token && !retried) {
    try {
      await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });
      return api(path, options, true);
    } catch {
      sessionStorage.removeItem("tokens");
      say(t("sessionEnded"), "error");
      render();
    }
  }
  const body = await response.json().catch(() => null);
  return { status: response.status, body, headers: response.headers };
}

// --- Customer ------------------------------------------------------------------------------
const today = () => new Date(Date.now() + 9 * 3600 * 1000).toISOString().slice(0, 10);
const addDays = (day, n) => new Date(Date.parse(day) + n * 86400000).toISOString().slice(0, 10);
let idempotencyKey = null;

function fillCatalog() {
  const options = (items, withRate) => items.map((i) => `<option value="${esc(i.id)}">${esc(lang === "ko" ? i.nameKo : i.nameEn)}${withRate ? ` — ${won(i.dailyRate)}/${lang === "ko" ? "일" : "day"}` : ""}</option>`).join("");
  for (const [id, items, rate] of [["#device-model", catalog.deviceModels, true], ["#country", catalog.countries, false], ["#booth", catalog.booths, false]]) {
    const select = $(id);
    const chosen = select.value;
    select.innerHTML = options(items, rate);
    if (chosen) select.value = chosen;
  }
  if (!$("#rental-date").value) {
    $("#rental-date").value = addDays(today(), 3);
    $("#return-date").value = addDays(today(), 7);
  }
  $("#rental-date").min = today();
  showPrice();
}

function showPrice() {
  const model = catalog?.deviceModels.find((d) => d.id === $("#device-model").value);
  const days = Math.round((Date.parse($("#return-date").value) - Date.parse($("#rental-date").value)) / 86400000);
  $("#price").textContent = model && days > 0 ? t("price")(model.dailyRate * days, days, model.dailyRate) : t("priceInvalid");
  idempotencyKey = null;
}

async function reserve(event) {
  event.preventDefault();
  say("");
  const button = $("#reserve");
  button.disabled = true;
  // One key per intent: retrying after "payment busy" reuses it, so a payment whose answer was
  // lost is confirmed instead of charged twice.
  idempotencyKey ??= randomString();
  const { status, body, headers } = await api("/api/reservations", {
    method: "POST",
    headers: { "idempotency-key": idempotencyKey },
    body: JSON.stringify({
      deviceModel: $("#device-model").value, country: $("#country").value, booth: $("#booth").value,
      rentalDate: $("#rental-date").value, returnDate: $("#return-date").value, cardNumber: $("#card-number").value.replace(/\s/g, ""),
    }),
  });
  button.disabled = false;
  if (status === 201) {
    idempotencyKey = null;
    say(`${t("reserved")} (${body.id})`, "ok");
    refreshMyPage();
  } else if (status === 402) {
    idempotencyKey = null;
    say(body?.code === "insufficient_funds" ? t("noFunds") : t("declined"), "error");
  } else if (status === 503) {
    say(`${t("busy")} (${headers.get("retry-after") || 1}s)`, "error");
  } else {
    idempotencyKey = null;
    say(`${t("failed")}: ${body?.message ?? status}`, "error");
  }
}

function badge(key, value) {
  const kind = /Failed|Declined|Canceled|Voided|Refunded/.test(value ?? "") ? "bad" : /Pending|Requested/.test(value ?? "") ? "warn" : value ? "ok" : "";
  return `<span class="badge ${kind}">${esc(t(key))}: <span class="${key}-status" data-status="${esc(value ?? "")}">${esc(statusText(value))}</span></span>`;
}

async function refreshMyPage() {
  const { status, body } = await api("/api/mypage");
  if (status !== 200) return;
  const list = $("#my-reservations");
  if (!body.reservations.length) {
    list.innerHTML = `<li class="hint">${t("empty")}</li>`;
    return;
  }
  list.innerHTML = body.reservations.map((r) => {
    const model = catalog?.deviceModels.find((d) => d.id === r.deviceModel);
    const boothName = catalog?.booths.find((b) => b.id === r.booth);
    const country = catalog?.countries.find((c) => c.id === r.country);
    const actions = [];
    if (r.reservationStatus === "Reserved") actions.push(`<button class="small danger cancel" type="button">${t("cancel")}</button>`);
    if (r.reservationStatus === "HandedOut") actions.push(`<button class="small return" type="button">${t("returnDevice")}</button>`);
    const refused = r.cancelRefusedReason ? `<p class="badge bad">${t("refused")}: ${esc(r.cancelRefusedReason)}</p>` : "";
    const timeline = r.timeline.map((e) => `<li>${esc(new Date(e.at).toLocaleString(lang))} — ${esc(e.source)}.${esc(e.event)}${e.detail ? ` (${esc(e.detail)})` : ""}</li>`).join("");
    return `<li data-reservation-id="${esc(r.reservationId)}" data-reservation-status="${esc(r.reservationStatus)}">
      <div class="row"><strong>${esc(model ? (lang === "ko" ? model.nameKo : model.nameEn) : r.deviceModel ?? "")}</strong>
        <span>${r.amount != null ? won(r.amount) : ""}</span></div>
      <div class="hint">${esc(country ? (lang === "ko" ? country.nameKo : country.nameEn) : r.country ?? "")} · ${esc(r.rentalDate ?? "")} → ${esc(r.returnDate ?? "")} · ${esc(boothName ? (lang === "ko" ? boothName.nameKo : boothName.nameEn) : r.booth ?? "")}</div>
      <div class="badges">${badge("reservation", r.reservationStatus)}${badge("payment", r.paymentStatus)}${badge("rental", r.rentalStatus)}</div>
      ${refused}<div class="actions">${actions.join("")}</div>
      <details><summary class="hint">${esc(r.reservationId)}</summary><ul class="timeline">${timeline}</ul></details></li>`;
  }).join("");
  for (const item of list.querySelectorAll("[data-reservation-id]")) {
    const id = item.dataset.reservationId;
    item.querySelector(".cancel")?.addEventListener("click", async () => {
      const { status, body } = await api(`/api/reservations/${id}/cancel`, { method: "POST" });
      say(status === 202 ? t("cancelAsked") : `${t("failed")}: ${body?.message ?? status}`, status === 202 ? "ok" : "error");
      refreshMyPage();
    });
    item.querySelector(".return")?.addEventListener("click", async () => {
      const { status, body } = await api(`/api/reservations/${id}/return`, { method: "POST" });
      say(status === 200 ? t("returned") : `${t("failed")}: ${body?.message ?? status}`, status === 200 ? "ok" : "error");
      refreshMyPage();
    });
  }
}

// --- Booth ---------------------------------------------------------------------------------
// The queue is patched, never rebuilt: a row whose rental did not change is left alone, so a
// serial number staff are typing survives every refresh.
function queueRow(r) {
  let action = "";
  if (r.status === "Accepted") {
    action = `<label class="hint" for="serial-${esc(r.reservationId)}">${t("serial")}</label>
      <input class="serial" id="serial-${esc(r.reservationId)}" placeholder="SN-0001">
      <button class="small hand-out" type="button">${t("handOut")}</button>`;
  } else if (r.status === "Returned") {
    action = `<button class="small collect" type="button">${t("collect")}</button>`;
  }
  const model = catalog?.deviceModels.find((d) => d.id === r.deviceModel);
  const item = document.createElement("li");
  item.dataset.reservationId = r.reservationId;
  item.dataset.rentalStatus = r.status;
  item.dataset.lang = lang;
  item.innerHTML = `<div class="row"><strong>${esc(model ? (lang === "ko" ? model.nameKo : model.nameEn) : r.deviceModel)}</strong>${badge("rental", r.status)}</div>
    <div class="hint">${esc(r.customerId)} · ${esc(r.rentalDate)} → ${esc(r.returnDate)} · ${esc(r.reservationId)}${r.deviceSerial ? ` · ${esc(r.deviceSerial)}` : ""}</div>
    <div class="actions">${action}</div>`;
  const id = r.reservationId;
  item.querySelector(".hand-out")?.addEventListener("click", async () => {
    const serial = item.querySelector(".serial").value.trim();
    const { status, body } = await api(`/api/rentals/${id}/handout`, { method: "POST", body: JSON.stringify({ deviceSerial: serial }) });
    say(status === 200 ? t("handedOut") : `${t("failed")}: ${body?.message ?? status}`, status === 200 ? "ok" : "error");
    refreshQueue();
  });
  item.querySelector(".collect")?.addEventListener("click", async () => {
    const { status, body } = await api(`/api/rentals/${id}/collect`, { method: "POST" });
    say(status === 200 ? t("collected") : `${t("failed")}: ${body?.message ?? status}`, status === 200 ? "ok" : "error");
    refreshQueue();
  });
  return item;
}

async function refreshQueue() {
  const lists = await Promise.all(["Accepted", "HandedOut", "Returned"].map((s) => api(`/api/rentals?status=${s}`)));
  const failed = lists.find((l) => l.status !== 200);
  if (failed) {
    say(`${t("failed")}: ${failed.body?.message ?? failed.status}`, "error");
    return;
  }
  // The three lists are read one after another: a rental that moved meanwhile is kept once,
  // in its later status.
  const latest = new Map();
  for (const r of lists.flatMap((l) => l.body)) latest.set(r.reservationId, r);
  const rentals = [...latest.values()].sort((a, b) => a.rentalDate.localeCompare(b.rentalDate));
  const queue = $("#queue");
  const placed = new Set();
  let previous = null;
  for (const r of rentals) {
    let row = queue.querySelector(`[data-reservation-id="${CSS.escape(r.reservationId)}"]`);
    if (!row || row.dataset.rentalStatus !== r.status || row.dataset.lang !== lang) {
      const fresh = queueRow(r);
      row?.remove();
      row = fresh;
    }
    if (row.previousElementSibling !== previous || !row.isConnected) {
      if (previous) previous.after(row); else queue.prepend(row);
    }
    placed.add(row);
    previous = row;
  }
  for (const child of [...queue.children]) if (!placed.has(child)) child.remove();
  if (!rentals.length) queue.innerHTML = `<li class="hint empty">${t("queueEmpty")}</li>`;
}

// --- Admin ---------------------------------------------------------------------------------
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
async function render() {
  clearInterval(timer);
  for (const id of ["#welcome", "#customer", "#booth-view", "#admin"]) $(id).hidden = true;
  const tokens = sessionStorage.getItem("tokens");
  me = null;
  if (tokens) {
    const { status, body } = await api("/api/me");
    if (status === 200) me = body;
  }
  $("#sign-out").hidden = !me;
  $("#who").textContent = me ? t("signedInAs")(me.subject) : "";
  if (!me) {
    $("#welcome").hidden = false;
    return;
  }
  let refresh;
  if (me.roles.includes("admin")) {
    $("#admin").hidden = false;
    refresh = refreshSystem;
  } else if (me.roles.includes("booth")) {
    $("#booth-view").hidden = false;
    $("#booth-name").textContent = me.booth ?? "";
    refresh = refreshQueue;
  } else {
    $("#customer").hidden = false;
    fillCatalog();
    refresh = refreshMyPage;
  }
  await refresh();
  timer = setInterval(refresh, 2000);
}

async function start() {
  translate();
  $("#lang").addEventListener("click", () => {
    lang = lang === "ko" ? "en" : "ko";
    localStorage.setItem("lang", lang);
    translate();
    render();
  });
  $("#sign-in").addEventListener("click", signIn);
  $("#sign-out").addEventListener("click", signOut);
  $("#reserve-form").addEventListener("submit", reserve);
  for (const id of ["#device-model", "#rental-date", "#return-date", "#country", "#booth"]) $(id).addEventListener("change", showPrice);
  config = await (await fetch("/ui/config.json")).json();
  catalog = (await api("/api/catalog")).body;
  try {
    await finishSignIn();
  } catch (error) {
    say(`${t("failed")}: ${error.message}`, "error");
  }
  await render();
}

start();
