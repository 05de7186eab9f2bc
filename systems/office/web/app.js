// The office rental web UI on the gateway's kit (/kit.js: sign-in, API, live updates, the
// operator's view): customers rent from the catalog with its stock and follow my orders pushed
// live, canceling before delivery and returning after it; the product team registers and
// restocks; the delivery team delivers and collects. Plain JavaScript.
"use strict";

const TEXT = {
  ko: {
    title: "사무용품 렌탈", welcome: "사무용품을 렌탈하세요",
    welcomeText: "상품을 고르고 기간을 정하면 배송팀이 재고를 확인해 배송합니다.",
    rent: "렌탈 주문", product: "상품", qty: "수량", from: "시작일", to: "종료일", order: "주문하기",
    myOrders: "내 주문 (myOrder)", register: "상품 등록", name: "상품명", rate: "일일 요금 (원)", stockQty: "재고수량",
    catalog: "상품 목록", deliveries: "배송 목록", correlation: "상관 키 (렌탈 번호)",
    price: (amount, qty, days, rate) => `금액 ${won(amount)} (${qty}개 × ${days}일 × ${won(rate)})`,
    option: (p) => `${p.name} — ${won(p.dailyRate)}/일 · 재고 ${p.stock ?? "?"}`,
    ordered: "주문되었습니다.", unknownProduct: "렌탈 서비스가 아직 모르는 상품입니다. 잠시 후 다시 시도해 주세요.",
    cancel: "주문 취소", canceled: "취소되었습니다.", giveBack: "반납 신청", returned: "반납을 신청했습니다.",
    busy: "배송 서비스가 바쁩니다. 잠시 후 다시 취소해 주세요.", empty: "아직 주문이 없습니다.",
    registered: "등록되었습니다.", restock: "입고 +5", restocked: "입고되었습니다.", noProducts: "상품이 없습니다.",
    deliver: "배송 완료", collect: "회수 완료", queueEmpty: "처리할 배송이 없습니다.",
    rentalStatus: "렌탈", deliveryStatus: "배송", stock: "재고",
    status: {
      Ordered: "주문됨", Scheduled: "배송 예정", Delivered: "배송 완료", ReturnRequested: "반납 요청",
      Completed: "완료", Collected: "회수 완료", Canceled: "취소됨",
    },
  },
  en: {
    title: "Office rental", welcome: "Rent office equipment",
    welcomeText: "Pick a product and the days; the delivery team checks the stock and delivers.",
    rent: "Rent", product: "Product", qty: "Quantity", from: "From", to: "To", order: "Order",
    myOrders: "My orders", register: "Register a product", name: "Name", rate: "Daily rate (KRW)", stockQty: "Stock",
    catalog: "Products", deliveries: "Deliveries", correlation: "Correlation key (rental)",
    price: (amount, qty, days, rate) => `Amount ${won(amount)} (${qty} × ${days} days × ${won(rate)})`,
    option: (p) => `${p.name} — ${won(p.dailyRate)}/day · ${p.stock ?? "?"} in stock`,
    ordered: "Ordered.", unknownProduct: "Rental has not heard of this product yet. Try again shortly.",
    cancel: "Cancel", canceled: "Canceled.", giveBack: "Return", returned: "Return requested.",
    busy: "Delivery is busy. Cancel again shortly.", empty: "No orders yet.",
    registered: "Registered.", restock: "Restock +5", restocked: "Restocked.", noProducts: "No products.",
    deliver: "Delivered", collect: "Collected", queueEmpty: "Nothing to deliver or collect.",
    rentalStatus: "Rental", deliveryStatus: "Delivery", stock: "Stock",
    status: {},
  },
};

let products = [];
let idempotencyKey = null;

const DAY = 24 * 3600 * 1000;
const seoulDay = (offset) => new Date(Date.now() + 9 * 3600 * 1000 + offset * DAY).toISOString().slice(0, 10);
const chosen = () => products.find((p) => p.id === $("#product").value);

// Name and rate from the catalog, units left from delivery's stock ledger.
async function loadProducts() {
  const [{ body: catalog }, { body: stock }] = await Promise.all([kit.api("/api/products"), kit.api("/api/stock")]);
  const left = new Map((stock ?? []).map((s) => [s.productId, s.stock]));
  products = (catalog ?? []).map((p) => ({ ...p, stock: left.get(p.id) }));
}

// --- Customer ------------------------------------------------------------------------------
function showPrice() {
  const product = chosen();
  const qty = Number($("#qty").value) || 0;
  const days = Math.round((new Date($("#to").value) - new Date($("#from").value)) / DAY) + 1;
  $("#price").textContent = product && days > 0 ? t("price")(product.dailyRate * qty * days, qty, days, product.dailyRate) : "";
  idempotencyKey = null;
}

async function loadCatalog() {
  await loadProducts();
  const select = $("#product");
  const before = select.value;
  select.innerHTML = products.map((p) => `<option value="${esc(p.id)}">${esc(t("option")(p))}</option>`).join("");
  if (products.some((p) => p.id === before)) select.value = before;
  showPrice();
}

async function rent(event) {
  event.preventDefault();
  kit.say("");
  $("#order").disabled = true;
  // One key per intent: a retry after a lost answer rents once.
  idempotencyKey ??= kit.randomString();
  const { status, body } = await kit.api("/api/rentals", {
    method: "POST",
    headers: { "idempotency-key": idempotencyKey },
    body: JSON.stringify({ productId: $("#product").value, qty: Number($("#qty").value), from: $("#from").value, to: $("#to").value }),
  });
  $("#order").disabled = false;
  if (status < 500) idempotencyKey = null;
  if (status === 201) kit.say(`${t("ordered")} (${body.id})`, "ok");
  else if (body?.code === "unknown_product") kit.say(t("unknownProduct"), "error");
  else kit.say(`${t("failed")}: ${body?.message ?? status}`, "error");
  refreshCustomer();
}

async function act(path, done) {
  const { status, body } = await kit.api(path, { method: "POST" });
  if (status === 200) kit.say(t(done), "ok");
  else if (status === 503) kit.say(t("busy"), "error");
  else kit.say(`${t("failed")}: ${body?.message ?? status}`, "error");
}

function orderRow(o) {
  const before = o.rentalStatus === "Ordered" || o.rentalStatus === "Scheduled";
  const action = before ? ["cancel", "cancel", "canceled"] : o.rentalStatus === "Delivered" ? ["return", "giveBack", "returned"] : null;
  const item = kit.element(`<div class="row"><strong>${esc(o.productName ?? "")} × ${esc(o.qty ?? "")}</strong>
      <span>${o.amount != null ? won(o.amount) : ""}</span></div>
    <div class="hint">${esc(o.from ?? "")} ~ ${esc(o.to ?? "")}</div>
    <div class="badges">${kit.badge("rentalStatus", o.rentalStatus)}${kit.badge("deliveryStatus", o.deliveryStatus)}</div>
    <div class="actions">${action ? `<button class="small ${before ? "danger" : ""} act" type="button">${esc(t(action[1]))}</button>` : ""}</div>
    <details><summary class="hint">${esc(o.rentalId)}</summary><ul class="timeline">${o.timeline
      .map((e) => `<li>${esc(new Date(e.at).toLocaleString(lang))} — ${esc(e.step)}${e.detail ? ` (${esc(e.detail)})` : ""}</li>`).join("")}</ul></details>`);
  item.dataset.rentalId = o.rentalId;
  item.dataset.rentalStatus = o.rentalStatus ?? "";
  item.querySelector(".act")?.addEventListener("click", () => act(`/api/rentals/${o.rentalId}/${action[0]}`, action[2]));
  return item;
}

async function refreshCustomer() {
  const { status, body } = await kit.api("/api/myorders?limit=100");
  if (status === 200) {
    kit.patchList($("#my-orders"), body.rentals, (o) => o.rentalId, (o) => o.updatedAt, orderRow, t("empty"));
  }
  loadCatalog();
}

// --- Product team ----------------------------------------------------------------------------
async function register(event) {
  event.preventDefault();
  const { status, body } = await kit.api("/api/products", {
    method: "POST",
    body: JSON.stringify({ name: $("#name").value, dailyRate: Number($("#rate").value), qty: Number($("#stock-qty").value) }),
  });
  kit.say(status === 201 ? t("registered") : `${t("failed")}: ${body?.message ?? status}`, status === 201 ? "ok" : "error");
  refreshProducts();
}

function productRow(p) {
  const item = kit.element(`<div class="row"><strong>${esc(p.name)}</strong><span>${won(p.dailyRate)}</span></div>
    <div class="badges">${kit.badge("stock", String(p.stock ?? "?"))}</div>
    <div class="actions"><button class="small restock" type="button">${esc(t("restock"))}</button></div>`);
  item.dataset.productId = p.id;
  item.querySelector(".restock").addEventListener("click", async () => {
    const { status, body } = await kit.api(`/api/products/${p.id}/restock`, { method: "POST", body: JSON.stringify({ quantity: 5 }) });
    kit.say(status === 200 ? t("restocked") : `${t("failed")}: ${body?.message ?? status}`, status === 200 ? "ok" : "error");
    refreshProducts();
  });
  return item;
}

async function refreshProducts() {
  await loadProducts();
  kit.patchList($("#products"), products, (p) => p.id, (p) => `${p.stock}`, productRow, t("noProducts"));
}

// --- Delivery team ---------------------------------------------------------------------------
function deliveryRow(d) {
  const next = d.status === "Scheduled" ? ["deliver", t("deliver")] : d.status === "ReturnRequested" ? ["collect", t("collect")] : null;
  const item = kit.element(`<div class="row"><strong>${esc(d.productName)} × ${d.qty}</strong>${kit.badge("deliveryStatus", d.status)}</div>
    <div class="hint">${esc(d.customerId)} · ${esc(d.rentalId)}</div>
    <div class="actions">${next ? `<button class="small step" type="button">${esc(next[1])}</button>` : ""}</div>`);
  item.dataset.rentalId = d.rentalId;
  item.querySelector(".step")?.addEventListener("click", async () => {
    const { status, body } = await kit.api(`/api/deliveries/${d.rentalId}/${next[0]}`, { method: "POST" });
    if (status !== 200) kit.say(`${t("failed")}: ${body?.message ?? status}`, "error");
    refreshDeliveries();
  });
  return item;
}

async function refreshDeliveries() {
  const [scheduled, returning] = await Promise.all([
    kit.api("/api/deliveries?status=Scheduled&limit=100"), kit.api("/api/deliveries?status=ReturnRequested&limit=100"),
  ]);
  if (scheduled.status !== 200 || returning.status !== 200) {
    kit.say(`${t("failed")}: ${scheduled.body?.message ?? scheduled.status}`, "error");
    return;
  }
  const deliveries = [...returning.body.deliveries, ...scheduled.body.deliveries];
  kit.patchList($("#deliveries"), deliveries, (d) => d.rentalId, (d) => d.status, deliveryRow, t("queueEmpty"));
}

// --- Screens -------------------------------------------------------------------------------
kit.start({
  brand: '<span aria-hidden="true">▦</span>',
  screens: [
    { role: "product", section: "#product-view", refresh: refreshProducts },
    { role: "delivery", section: "#delivery-view", refresh: refreshDeliveries },
    { role: "customer", section: "#customer", refresh: refreshCustomer, live: "/api/myorders/events" },
  ],
  async ready() {
    $("#rent-form").addEventListener("submit", rent);
    $("#register-form").addEventListener("submit", register);
    for (const id of ["#product", "#qty", "#from", "#to"]) $(id).addEventListener("change", showPrice);
    $("#from").value = seoulDay(1);
    $("#to").value = seoulDay(3);
    await loadCatalog();
  },
  shown(screen) {
    if (screen.section === "#customer") loadCatalog();
  },
});
