// The booking web UI on the gateway's kit (/kit.js: sign-in, API, live updates, the operator's
// view): customers pick a musical, performance and grade (price and seats left shown), book and
// pay, and follow my page pushed live; the delivery team ships tickets from a queue whose rows
// are patched, never rebuilt under someone typing a shipper. Plain JavaScript, no build step.
"use strict";

const TEXT = {
  ko: {
    title: "뮤지컬 예매", welcome: "보고 싶은 뮤지컬 티켓을 예매하세요",
    welcomeText: "좌석 등급을 고르고 결제하면 종이 티켓을 배송해 드립니다.",
    book: "예매하기", musical: "뮤지컬", performance: "공연 일시", grade: "좌석 등급", quantity: "매수",
    address: "배송 주소", phone: "전화번호", card: "카드 번호", payAndBook: "결제하고 예매하기", myPage: "마이페이지",
    deliveryQueue: "배송 대기열", correlation: "상관 키 (예매 번호)",
    price: (amount, quantity, each, left) => `티켓값 ${won(amount)} (${quantity}매 × ${won(each)}) · 잔여 ${left}석`,
    booked: "예매되었습니다. 결제가 완료되었습니다.", declined: "카드가 거절되었습니다. 다른 카드로 시도해 주세요.",
    noFunds: "잔액이 부족합니다. 다른 카드로 시도해 주세요.", soldOut: "좌석이 부족합니다.",
    cancel: "예매 취소", cancelAsked: "취소를 요청했습니다. 환불과 배송 취소가 진행됩니다.",
    empty: "아직 예매가 없습니다.", queueEmpty: "배송할 티켓이 없습니다.", shipper: "배송 담당", ship: "배송 출발",
    shipped: "배송을 시작했습니다.", booking: "예매", payment: "결제", delivery: "배송", seatsLeft: "석",
    status: {
      PaymentPending: "결제 대기", Booked: "예매 완료", BookFailed: "예매 실패", CancelRequested: "취소 요청됨",
      Canceled: "취소됨", Requested: "배송 준비", Shipped: "배송 중",
    },
  },
  en: {
    title: "Musical tickets", welcome: "Book tickets for the musical you want to see",
    welcomeText: "Pick a seat grade and pay; the paper tickets are delivered to you.",
    book: "Book", musical: "Musical", performance: "Performance", grade: "Seat grade", quantity: "Tickets",
    address: "Delivery address", phone: "Phone", card: "Card number", payAndBook: "Pay and book", myPage: "My page",
    deliveryQueue: "Delivery queue", correlation: "Correlation key (booking)",
    price: (amount, quantity, each, left) => `Price ${won(amount)} (${quantity} × ${won(each)}) · ${left} seats left`,
    booked: "Booked and paid.", declined: "The card was declined. Try another card.",
    noFunds: "Insufficient funds. Try another card.", soldOut: "Not enough seats left.",
    cancel: "Cancel", cancelAsked: "Cancellation requested; the refund and the delivery's cancel follow.",
    empty: "No bookings yet.", queueEmpty: "No tickets to ship.", shipper: "Shipper", ship: "Ship",
    shipped: "Shipped.", booking: "Booking", payment: "Payment", delivery: "Delivery", seatsLeft: "seats",
    status: {},
  },
};

let musicals = [];
let idempotencyKey = null;

const title = (m) => (lang === "ko" ? m.titleKo : m.titleEn);
const when = (iso) => new Date(iso).toLocaleString(lang, { timeZone: "Asia/Seoul", dateStyle: "medium", timeStyle: "short" });
const picked = () => {
  const musical = musicals.find((m) => m.id === $("#musical").value);
  const performance = musical?.performances.find((p) => p.id === $("#performance").value);
  return { musical, performance, grade: performance?.grades.find((g) => g.grade === $("#grade").value) };
};

// --- Customer ------------------------------------------------------------------------------
function fill(select, options) {
  const chosen = select.value;
  select.innerHTML = options.map(([value, label]) => `<option value="${esc(value)}">${esc(label)}</option>`).join("");
  if (options.some(([value]) => value === chosen)) select.value = chosen;
}

function fillCatalog() {
  fill($("#musical"), musicals.map((m) => [m.id, `${title(m)} — ${m.venue}`]));
  const { musical } = picked();
  fill($("#performance"), (musical?.performances ?? []).map((p) => [p.id, when(p.startsAt)]));
  const { performance } = picked();
  fill($("#grade"), (performance?.grades ?? []).map((g) => [g.grade, `${g.grade} — ${won(g.price)} (${g.available} ${t("seatsLeft")})`]));
  showPrice();
}

function showPrice() {
  const { grade } = picked();
  const quantity = Number($("#quantity").value) || 0;
  $("#price").textContent = grade ? t("price")(grade.price * quantity, quantity, grade.price, grade.available) : "";
  idempotencyKey = null;
}

async function loadCatalog() {
  musicals = (await kit.api("/api/musicals")).body ?? [];
  fillCatalog();
}

async function book(event) {
  event.preventDefault();
  kit.say("");
  const button = $("#book");
  button.disabled = true;
  // One key per intent: retrying after "payment busy" reuses it, so nothing is booked twice.
  idempotencyKey ??= kit.randomString();
  const { status, body, headers } = await kit.api("/api/bookings", {
    method: "POST",
    headers: { "idempotency-key": idempotencyKey },
    body: JSON.stringify({
      musicalId: $("#musical").value, performanceId: $("#performance").value, grade: $("#grade").value,
      quantity: Number($("#quantity").value), deliveryAddress: $("#address").value, phone: $("#phone").value,
      cardNumber: $("#card-number").value.replace(/\s/g, ""),
    }),
  });
  button.disabled = false;
  if (status !== 503) idempotencyKey = null;
  if (status === 201) kit.say(`${t("booked")} (${body.id})`, "ok");
  else if (status === 402) kit.say(body?.code === "insufficient_funds" ? t("noFunds") : t("declined"), "error");
  else if (status === 409 && body?.code === "sold_out") kit.say(t("soldOut"), "error");
  else if (status === 503) kit.say(`${t("busy")} (${headers.get("retry-after") || 1}s)`, "error");
  else kit.say(`${t("failed")}: ${body?.message ?? status}`, "error");
  loadCatalog();
  refreshMyPage();
}

function bookingRow(b) {
  const musical = musicals.find((m) => m.id === b.musicalId);
  const shipped = b.shipper ? ` · ${esc(t("shipper"))}: ${esc(b.shipper)}` : "";
  const item = kit.element(`<div class="row"><strong>${esc(musical ? title(musical) : b.musicalTitle ?? "")}</strong>
      <span>${b.amount != null ? won(b.amount) : ""}</span></div>
    <div class="hint">${b.startsAt ? esc(when(b.startsAt)) : ""} · ${esc(b.grade ?? "")} × ${esc(b.quantity ?? "")}${shipped}</div>
    <div class="badges">${kit.badge("booking", b.bookingStatus)}${kit.badge("payment", b.paymentStatus)}${kit.badge("delivery", b.deliveryStatus)}</div>
    <div class="actions">${b.bookingStatus === "Booked" ? `<button class="small danger cancel" type="button">${t("cancel")}</button>` : ""}</div>
    <details><summary class="hint">${esc(b.bookingId)}</summary><ul class="timeline">${b.timeline
      .map((e) => `<li>${esc(new Date(e.at).toLocaleString(lang))} — ${esc(e.step)}${e.detail ? ` (${esc(e.detail)})` : ""}</li>`).join("")}</ul></details>`);
  item.dataset.bookingId = b.bookingId;
  item.dataset.bookingStatus = b.bookingStatus ?? "";
  item.querySelector(".cancel")?.addEventListener("click", async () => {
    const { status, body } = await kit.api(`/api/bookings/${b.bookingId}/cancel`, { method: "POST" });
    kit.say(status === 202 ? t("cancelAsked") : `${t("failed")}: ${body?.message ?? status}`, status === 202 ? "ok" : "error");
  });
  return item;
}

async function refreshMyPage() {
  const { status, body } = await kit.api("/api/mypage?limit=100");
  if (status !== 200) return;
  kit.patchList($("#my-bookings"), body.bookings, (b) => b.bookingId, (b) => b.updatedAt, bookingRow, t("empty"));
}

// --- Delivery team ---------------------------------------------------------------------------
function deliveryRow(d) {
  const item = kit.element(`<div class="row"><strong>${esc(d.musicalTitle)}</strong>${kit.badge("delivery", d.status)}</div>
    <div class="hint">${esc(when(d.startsAt))} · ${esc(d.grade)} × ${d.quantity} · ${esc(d.customerId)} · ${esc(d.bookingId)}</div>
    <div class="hint">${esc(d.address)} · ${esc(d.phone)}</div>
    <div class="actions"><label class="hint" for="shipper-${esc(d.bookingId)}">${t("shipper")}</label>
      <input class="shipper" id="shipper-${esc(d.bookingId)}" placeholder="CJ 대한통운">
      <button class="small ship" type="button">${t("ship")}</button></div>`);
  item.dataset.bookingId = d.bookingId;
  item.querySelector(".ship").addEventListener("click", async () => {
    const shipper = item.querySelector(".shipper").value.trim();
    const { status, body } = await kit.api(`/api/deliveries/${d.bookingId}/ship`, { method: "POST", body: JSON.stringify({ shipper }) });
    kit.say(status === 200 ? t("shipped") : `${t("failed")}: ${body?.message ?? status}`, status === 200 ? "ok" : "error");
    refreshQueue();
  });
  return item;
}

async function refreshQueue() {
  const { status, body } = await kit.api("/api/deliveries?status=Requested&limit=100");
  if (status !== 200) {
    kit.say(`${t("failed")}: ${body?.message ?? status}`, "error");
    return;
  }
  kit.patchList($("#deliveries"), body.deliveries, (d) => d.bookingId, (d) => d.status, deliveryRow, t("queueEmpty"));
}

// --- Screens -------------------------------------------------------------------------------
kit.start({
  brand: '<span aria-hidden="true">♪</span>',
  screens: [
    { role: "delivery", section: "#delivery-view", refresh: refreshQueue },
    { role: "customer", section: "#customer", refresh: refreshMyPage, live: "/api/mypage/events" },
  ],
  async ready() {
    $("#book-form").addEventListener("submit", book);
    $("#musical").addEventListener("change", fillCatalog);
    $("#performance").addEventListener("change", fillCatalog);
    for (const id of ["#grade", "#quantity"]) $(id).addEventListener("change", showPrice);
    await loadCatalog();
  },
  shown(screen) {
    if (screen.section === "#customer") loadCatalog();
  },
});
