// The roaming web UI on the gateway's kit (/kit.js: sign-in, API, live updates, the operator's
// view): the customer's reservation form and my page (pushed live), the booth's queue (rows
// patched, never rebuilt under staff typing a serial). Plain JavaScript, no build step.
"use strict";

const TEXT = {
  ko: {
    title: "로밍 단말기 대여",
    welcome: "인천·김포·김해 공항에서 로밍 단말기를 받아 가세요",
    welcomeText: "예약하고 결제하면 공항 부스에서 단말기를 받고, 돌아와서 부스에 반납합니다.",
    reserve: "예약하기", device: "단말기", country: "방문 국가", booth: "수령 부스", rentalDate: "대여일", returnDate: "반납일",
    card: "카드 번호", payAndReserve: "결제하고 예약하기", myPage: "마이페이지", boothQueue: "부스 대기열",
    correlation: "상관 키 (예약 번호)",
    price: (amount, days, rate) => `요금 ${won(amount)} (${days}일 × ${won(rate)})`,
    priceInvalid: "반납일은 대여일 이후여야 합니다",
    reserved: "예약되었습니다. 결제가 완료되었습니다.", declined: "카드가 거절되었습니다. 다른 카드로 시도해 주세요.",
    noFunds: "잔액이 부족합니다. 다른 카드로 시도해 주세요.",
    cancel: "예약 취소", returnDevice: "반납하기", cancelAsked: "취소를 요청했습니다. 부스 확인 후 환불됩니다.",
    returned: "반납이 접수되었습니다.", empty: "아직 예약이 없습니다.", queueEmpty: "대기 중인 대여가 없습니다.",
    handOut: "단말기 지급", collect: "회수", serial: "단말기 일련번호", handedOut: "지급했습니다.", collected: "회수했습니다.",
    reservation: "예약", payment: "결제", rental: "대여", refused: "취소 거절",
    status: {
      PaymentPending: "결제 대기", Reserved: "예약 완료", ReserveFailed: "예약 실패", CancelRequested: "취소 요청됨",
      Canceled: "취소됨", HandedOut: "사용 중", Returned: "반납됨", Completed: "완료", Accepted: "부스 접수", Collected: "회수 완료",
    },
  },
  en: {
    title: "Roaming device rental",
    welcome: "Pick up a roaming device at Incheon, Gimpo or Gimhae airport",
    welcomeText: "Reserve and pay, get the device at the airport booth, and hand it back there when you return.",
    reserve: "Reserve", device: "Device", country: "Destination", booth: "Pickup booth", rentalDate: "Pickup day",
    returnDate: "Return day", card: "Card number", payAndReserve: "Pay and reserve", myPage: "My page",
    boothQueue: "Booth queue", correlation: "Correlation key (reservation)",
    price: (amount, days, rate) => `Price ${won(amount)} (${days} days × ${won(rate)})`,
    priceInvalid: "The return day must be after the pickup day",
    reserved: "Reserved and paid.", declined: "The card was declined. Try another card.",
    noFunds: "Insufficient funds. Try another card.", cancel: "Cancel", returnDevice: "Return device",
    cancelAsked: "Cancellation requested; the booth confirms and the payment is refunded.",
    returned: "The return is recorded.", empty: "No reservations yet.", queueEmpty: "Nothing waiting at this booth.",
    handOut: "Hand out", collect: "Collect", serial: "Device serial", handedOut: "Handed out.", collected: "Collected.",
    reservation: "Reservation", payment: "Payment", rental: "Booth", refused: "Cancel refused",
    status: {},
  },
};

let catalog = null;

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
  kit.say("");
  const button = $("#reserve");
  button.disabled = true;
  // One key per intent: retrying after "payment busy" reuses it, so a payment whose answer was
  // lost is confirmed instead of charged twice.
  idempotencyKey ??= kit.randomString();
  const { status, body, headers } = await kit.api("/api/reservations", {
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
    kit.say(`${t("reserved")} (${body.id})`, "ok");
    refreshMyPage();
  } else if (status === 402) {
    idempotencyKey = null;
    kit.say(body?.code === "insufficient_funds" ? t("noFunds") : t("declined"), "error");
  } else if (status === 503) {
    kit.say(`${t("busy")} (${headers.get("retry-after") || 1}s)`, "error");
  } else {
    idempotencyKey = null;
    kit.say(`${t("failed")}: ${body?.message ?? status}`, "error");
  }
}

async function refreshMyPage() {
  const { status, body } = await kit.api("/api/mypage?limit=100");
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
      <div class="badges">${kit.badge("reservation", r.reservationStatus)}${kit.badge("payment", r.paymentStatus)}${kit.badge("rental", r.rentalStatus)}</div>
      ${refused}<div class="actions">${actions.join("")}</div>
      <details><summary class="hint">${esc(r.reservationId)}</summary><ul class="timeline">${timeline}</ul></details></li>`;
  }).join("");
  for (const item of list.querySelectorAll("[data-reservation-id]")) {
    const id = item.dataset.reservationId;
    item.querySelector(".cancel")?.addEventListener("click", async () => {
      const { status, body } = await kit.api(`/api/reservations/${id}/cancel`, { method: "POST" });
      kit.say(status === 202 ? t("cancelAsked") : `${t("failed")}: ${body?.message ?? status}`, status === 202 ? "ok" : "error");
      refreshMyPage();
    });
    item.querySelector(".return")?.addEventListener("click", async () => {
      const { status, body } = await kit.api(`/api/reservations/${id}/return`, { method: "POST" });
      kit.say(status === 200 ? t("returned") : `${t("failed")}: ${body?.message ?? status}`, status === 200 ? "ok" : "error");
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
  const item = kit.element(`<div class="row"><strong>${esc(model ? (lang === "ko" ? model.nameKo : model.nameEn) : r.deviceModel)}</strong>${kit.badge("rental", r.status)}</div>
    <div class="hint">${esc(r.customerId)} · ${esc(r.rentalDate)} → ${esc(r.returnDate)} · ${esc(r.reservationId)}${r.deviceSerial ? ` · ${esc(r.deviceSerial)}` : ""}</div>
    <div class="actions">${action}</div>`);
  item.dataset.reservationId = r.reservationId;
  item.dataset.rentalStatus = r.status;
  const id = r.reservationId;
  item.querySelector(".hand-out")?.addEventListener("click", async () => {
    const serial = item.querySelector(".serial").value.trim();
    const { status, body } = await kit.api(`/api/rentals/${id}/handout`, { method: "POST", body: JSON.stringify({ deviceSerial: serial }) });
    kit.say(status === 200 ? t("handedOut") : `${t("failed")}: ${body?.message ?? status}`, status === 200 ? "ok" : "error");
    refreshQueue();
  });
  item.querySelector(".collect")?.addEventListener("click", async () => {
    const { status, body } = await kit.api(`/api/rentals/${id}/collect`, { method: "POST" });
    kit.say(status === 200 ? t("collected") : `${t("failed")}: ${body?.message ?? status}`, status === 200 ? "ok" : "error");
    refreshQueue();
  });
  return item;
}

async function refreshQueue() {
  const lists = await Promise.all(["Accepted", "HandedOut", "Returned"].map((s) => kit.api(`/api/rentals?status=${s}`)));
  const failed = lists.find((l) => l.status !== 200);
  if (failed) {
    kit.say(`${t("failed")}: ${failed.body?.message ?? failed.status}`, "error");
    return;
  }
  // The three lists are read one after another: a rental that moved meanwhile is kept once,
  // in its later status.
  const latest = new Map();
  for (const r of lists.flatMap((l) => l.body)) latest.set(r.reservationId, r);
  const rentals = [...latest.values()].sort((a, b) => a.rentalDate.localeCompare(b.rentalDate));
  kit.patchList($("#queue"), rentals, (r) => r.reservationId, (r) => r.status, queueRow, t("queueEmpty"));
}

// --- Screens -------------------------------------------------------------------------------
kit.start({
  brand: '<svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" fill="currentColor"><rect x="2" y="15" width="4" height="7" rx="1"/><rect x="9" y="10" width="4" height="12" rx="1"/><rect x="16" y="4" width="4" height="18" rx="1"/></svg>',
  screens: [
    { role: "booth", section: "#booth-view", refresh: refreshQueue },
    { role: "customer", section: "#customer", refresh: refreshMyPage, live: "/api/mypage/events" },
  ],
  async ready() {
    $("#reserve-form").addEventListener("submit", reserve);
    for (const id of ["#device-model", "#rental-date", "#return-date", "#country", "#booth"]) $(id).addEventListener("change", showPrice);
    catalog = (await kit.api("/api/catalog")).body;
  },
  shown(screen) {
    if (screen.section === "#customer") fillCatalog();
    if (screen.section === "#booth-view") $("#booth-name").textContent = me.booth ?? "";
  },
});
