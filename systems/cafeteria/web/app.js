// The cafeteria web UI on the gateway's kit (/kit.js: sign-in, API, live updates, the operator's
// view): customers order from the menu and pay, follow my page pushed live with their
// notifications, the month's cumulative amount and the sales page; the barista accepts and makes
// drinks from a queue patched row by row; admins see the shop's month. Plain JavaScript.
"use strict";

const TEXT = {
  ko: {
    title: "카페 주문", welcome: "음료를 주문하세요",
    welcomeText: "메뉴에서 고르고 결제하면 바리스타가 접수하고 제조합니다.",
    order: "주문하기", drink: "음료", qty: "잔 수", card: "카드 번호", payAndOrder: "결제하고 주문하기",
    myPage: "마이페이지", salesPage: "세일즈페이지", notices: "알림", queue: "주문 대기열", shopTotals: "이달의 매출",
    correlation: "상관 키 (주문 번호)",
    price: (amount, qty, each) => `결제 금액 ${won(amount)} (${qty}잔 × ${won(each)})`,
    monthTotal: (month, total) => `${month} 누적 금액 ${won(total)}`,
    ordered: "주문되었습니다. 결제가 완료되었습니다.", declined: "카드가 거절되었습니다. 다른 카드로 시도해 주세요.",
    noFunds: "잔액이 부족합니다. 다른 카드로 시도해 주세요.",
    cancel: "주문 취소", cancelAsked: "취소를 요청했습니다.", empty: "아직 주문이 없습니다.",
    queueEmpty: "대기 중인 주문이 없습니다.", accept: "접수", make: "제조 완료", noNotices: "알림이 없습니다.",
    noRows: "이달의 판매가 없습니다.", payment: "결제", refund: "환불", orderStatus: "주문", drinkStatus: "음료",
    paymentStatus: "결제",
    status: {
      PaymentPending: "결제 대기", Ordered: "주문 완료", OrderFailed: "주문 실패", CancelRequested: "취소 요청됨",
      Canceled: "취소됨", Queued: "접수 대기", Receipted: "접수됨", Made: "제조 완료",
    },
  },
  en: {
    title: "Cafeteria", welcome: "Order a drink",
    welcomeText: "Pick from the menu and pay; the barista accepts and makes it.",
    order: "Order", drink: "Drink", qty: "Cups", card: "Card number", payAndOrder: "Pay and order",
    myPage: "My page", salesPage: "Sales page", notices: "Notifications", queue: "Order queue", shopTotals: "This month's sales",
    correlation: "Correlation key (order)",
    price: (amount, qty, each) => `Amount ${won(amount)} (${qty} × ${won(each)})`,
    monthTotal: (month, total) => `${month} cumulative amount ${won(total)}`,
    ordered: "Ordered and paid.", declined: "The card was declined. Try another card.",
    noFunds: "Insufficient funds. Try another card.",
    cancel: "Cancel", cancelAsked: "Cancellation requested.", empty: "No orders yet.",
    queueEmpty: "No orders waiting.", accept: "Accept", make: "Made", noNotices: "No notifications.",
    noRows: "No sales this month.", payment: "Payment", refund: "Refund", orderStatus: "Order", drinkStatus: "Drink",
    paymentStatus: "Payment",
    status: {},
  },
};

let menu = [];
let idempotencyKey = null;

const drinkName = (d) => (lang === "ko" ? d.nameKo : d.nameEn);
const chosen = () => menu.find((d) => d.id === $("#drink").value);

// --- Customer ------------------------------------------------------------------------------
function showPrice() {
  const drink = chosen();
  const qty = Number($("#qty").value) || 0;
  $("#price").textContent = drink ? t("price")(drink.price * qty, qty, drink.price) : "";
  idempotencyKey = null;
}

async function loadMenu() {
  menu = (await kit.api("/api/menu")).body ?? [];
  const select = $("#drink");
  const before = select.value;
  select.innerHTML = menu.map((d) => `<option value="${esc(d.id)}">${esc(drinkName(d))} — ${won(d.price)}</option>`).join("");
  if (menu.some((d) => d.id === before)) select.value = before;
  showPrice();
}

async function order(event) {
  event.preventDefault();
  kit.say("");
  $("#pay").disabled = true;
  // One key per intent: retrying after "payment busy" reuses it, so nothing is ordered twice.
  idempotencyKey ??= kit.randomString();
  const { status, body, headers } = await kit.api("/api/orders", {
    method: "POST",
    headers: { "idempotency-key": idempotencyKey },
    body: JSON.stringify({ drinkId: $("#drink").value, qty: Number($("#qty").value), cardNumber: $("#card-number").value.replace(/\s/g, "") }),
  });
  $("#pay").disabled = false;
  if (status !== 503) idempotencyKey = null;
  if (status === 201) kit.say(`${t("ordered")} (${body.id})`, "ok");
  else if (status === 402) kit.say(body?.code === "insufficient_funds" ? t("noFunds") : t("declined"), "error");
  else if (status === 503) kit.say(`${t("busy")} (${headers.get("retry-after") || 1}s)`, "error");
  else kit.say(`${t("failed")}: ${body?.message ?? status}`, "error");
  refreshCustomer();
}

function orderRow(o) {
  const name = lang === "ko" ? o.drinkName : o.drinkNameEn;
  const item = kit.element(`<div class="row"><strong>${esc(name ?? "")} × ${esc(o.qty ?? "")}</strong>
      <span>${o.amount != null ? won(o.amount) : ""}</span></div>
    <div class="badges">${kit.badge("orderStatus", o.orderStatus)}${kit.badge("paymentStatus", o.paymentStatus)}${kit.badge("drinkStatus", o.drinkStatus)}</div>
    <div class="actions">${o.orderStatus === "Ordered" && o.drinkStatus !== "Made" ? `<button class="small danger cancel" type="button">${t("cancel")}</button>` : ""}</div>
    <details><summary class="hint">${esc(o.orderId)}</summary><ul class="timeline">${o.timeline
      .map((e) => `<li>${esc(new Date(e.at).toLocaleString(lang))} — ${esc(e.step)}${e.detail ? ` (${esc(e.detail)})` : ""}</li>`).join("")}</ul></details>`);
  item.dataset.orderId = o.orderId;
  item.dataset.orderStatus = o.orderStatus ?? "";
  item.querySelector(".cancel")?.addEventListener("click", async () => {
    const { status, body } = await kit.api(`/api/orders/${o.orderId}/cancel`, { method: "POST" });
    kit.say(status === 202 ? t("cancelAsked") : `${t("failed")}: ${body?.message ?? status}`, status === 202 ? "ok" : "error");
  });
  return item;
}

async function refreshSales() {
  const [{ body: totals }, { body: ledger }] = await Promise.all([kit.api("/api/sales"), kit.api("/api/sales/ledger")]);
  if (totals) $("#month-total").textContent = t("monthTotal")(totals.month, totals.total);
  const rows = ledger?.rows ?? [];
  $("#ledger").innerHTML = rows.length
    ? rows.map((r) => `<tr><td>${esc(new Date(r.at).toLocaleString(lang))}</td><td>${esc(t(r.entry))}</td><td>${won(r.amount)}</td><td>${won(r.total)}</td></tr>`).join("")
    : `<tr><td class="hint">${esc(t("noRows"))}</td></tr>`;
}

async function refreshCustomer() {
  const { status, body } = await kit.api("/api/mypage?limit=100");
  if (status === 200) {
    kit.patchList($("#my-orders"), body.orders, (o) => o.orderId, (o) => o.updatedAt, orderRow, t("empty"));
  }
  const notices = await kit.api("/api/notifications");
  if (notices.status === 200) {
    const text = (m) => kit.element(`<div>${esc(lang === "ko" ? m.ko : m.en)}</div><div class="hint">${esc(new Date(m.at).toLocaleString(lang))}</div>`);
    kit.patchList($("#notices"), notices.body.notifications ?? notices.body, (m) => m.id, (m) => m.id, text, t("noNotices"));
  }
  refreshSales();
}

// --- Barista ---------------------------------------------------------------------------------
function drinkRow(d) {
  const next = d.status === "Queued" ? ["accept", t("accept")] : d.status === "Receipted" ? ["make", t("make")] : null;
  const item = kit.element(`<div class="row"><strong>${esc(d.drinkName)} × ${d.qty}</strong>${kit.badge("drinkStatus", d.status)}</div>
    <div class="hint">${esc(d.customerId)} · ${esc(d.orderId)}</div>
    <div class="actions">${next ? `<button class="small step" type="button">${esc(next[1])}</button>` : ""}</div>`);
  item.dataset.orderId = d.orderId;
  item.querySelector(".step")?.addEventListener("click", async () => {
    const { status, body } = await kit.api(`/api/drinks/${d.orderId}/${next[0]}`, { method: "POST" });
    if (status !== 200) kit.say(`${t("failed")}: ${body?.message ?? status}`, "error");
    refreshQueue();
  });
  return item;
}

async function refreshQueue() {
  const [queued, receipted] = await Promise.all([
    kit.api("/api/drinks?status=Queued&limit=100"), kit.api("/api/drinks?status=Receipted&limit=100"),
  ]);
  if (queued.status !== 200 || receipted.status !== 200) {
    kit.say(`${t("failed")}: ${queued.body?.message ?? queued.status}`, "error");
    return;
  }
  const drinks = [...receipted.body.drinks, ...queued.body.drinks];
  kit.patchList($("#drinks"), drinks, (d) => d.orderId, (d) => d.status, drinkRow, t("queueEmpty"));
}

// --- Admin -----------------------------------------------------------------------------------
async function refreshShop() {
  const { status, body } = await kit.api("/api/sales");
  if (status !== 200) return;
  $("#shop-total").textContent = t("monthTotal")(body.month, body.total);
  const row = (c) => kit.element(`<div class="row"><span>${esc(c.customerId)}</span><span>${won(c.total)}</span></div>`);
  kit.patchList($("#shop-customers"), body.customers ?? [], (c) => c.customerId, (c) => c.total, row, t("noRows"));
}

// --- Screens -------------------------------------------------------------------------------
kit.start({
  brand: '<span aria-hidden="true">☕</span>',
  screens: [
    { role: "barista", section: "#barista-view", refresh: refreshQueue },
    { role: "admin", section: "#shop-view", refresh: refreshShop },
    { role: "customer", section: "#customer", refresh: refreshCustomer, live: "/api/mypage/events" },
  ],
  async ready() {
    $("#order-form").addEventListener("submit", order);
    $("#drink").addEventListener("change", showPrice);
    $("#qty").addEventListener("change", showPrice);
    await loadMenu();
  },
  shown(screen) {
    if (screen.section === "#customer") loadMenu();
  },
});
