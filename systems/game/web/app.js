// The game rewards web UI on the gateway's kit (/kit.js: sign-in, API, live updates, the
// operator's view): players achieve missions of the board, see rewards issued to their wallet and
// exchange them for gifts, and follow my page and their notifications pushed live; admins restock
// gifts. Plain JavaScript.
"use strict";

const TEXT = {
  ko: {
    title: "게임 리워드", welcome: "미션을 달성하고 리워드를 받으세요",
    welcomeText: "미션을 달성하면 리워드가 할당되어 지갑에 발급되고, 상품으로 교환할 수 있습니다.",
    board: "미션 보드", wallet: "지갑", gift: "교환할 상품", myPage: "마이페이지", notices: "알림", stock: "상품 재고",
    correlation: "상관 키 (달성 번호)", achieve: "달성", achieved: "달성했습니다.", already: "이미 달성한 미션입니다.",
    exchange: "교환", exchanged: "교환했습니다.", tooLow: "등급이 낮아 이 상품으로 교환할 수 없습니다.",
    soldOut: "재고가 없습니다.", busy: "상품 시스템이 바쁩니다. 잠시 후 다시 교환해 주세요.",
    noEntries: "지갑이 비어 있습니다.", noPages: "아직 달성한 미션이 없습니다.", noNotices: "알림이 없습니다.",
    restock: "입고 +5", restocked: "입고되었습니다.", points: "점", left: "재고",
    giftOption: (g) => `${g.name} — ${g.requiredTier} 이상 · 재고 ${g.stock}`,
    missionStatus: "미션", rewardStatus: "리워드", entryStatus: "지갑", giftStatus: "상품",
    status: {
      Achieved: "달성", Allocated: "할당", Issued: "발급", Exchanged: "교환 완료", HandedOut: "지급",
    },
  },
  en: {
    title: "Game rewards", welcome: "Achieve missions, collect rewards",
    welcomeText: "An achieved mission's reward is allocated and issued to your wallet; exchange it for a gift.",
    board: "Mission board", wallet: "Wallet", gift: "Gift to exchange for", myPage: "My page", notices: "Notifications",
    stock: "Gift stock", correlation: "Correlation key (achievement)", achieve: "Achieve", achieved: "Achieved.",
    already: "You achieved this mission already.", exchange: "Exchange", exchanged: "Exchanged.",
    tooLow: "Your reward's tier is too low for this gift.", soldOut: "Out of stock.",
    busy: "The gift service is busy. Exchange again shortly.", noEntries: "Your wallet is empty.",
    noPages: "No missions achieved yet.", noNotices: "No notifications.", restock: "Restock +5", restocked: "Restocked.",
    points: "pts", left: "Stock",
    giftOption: (g) => `${g.name} — ${g.requiredTier}+ · ${g.stock} left`,
    missionStatus: "Mission", rewardStatus: "Reward", entryStatus: "Wallet", giftStatus: "Gift",
    status: {},
  },
};

const REFUSED = { already_achieved: "already", tier_too_low: "tooLow", out_of_stock: "soldOut", gift_busy: "busy" };
const fail = (status, body) => kit.say(REFUSED[body?.code] ? t(REFUSED[body.code]) : `${t("failed")}: ${body?.message ?? status}`, "error");

// --- Player ----------------------------------------------------------------------------------
function missionRow(m, done) {
  const title = lang === "ko" ? m.titleKo : m.titleEn;
  const item = kit.element(`<div class="row"><strong>${esc(title)}</strong><span>${esc(m.tier)} · ${m.points}${esc(t("points"))}</span></div>
    <div class="actions"><button class="small achieve" type="button" ${done ? "disabled" : ""}>${esc(t("achieve"))}</button></div>`);
  item.dataset.missionCode = m.missionCode;
  item.querySelector(".achieve").addEventListener("click", async () => {
    kit.say("");
    const { status, body } = await kit.api("/api/missions", {
      method: "POST", headers: { "idempotency-key": kit.randomString() }, body: JSON.stringify({ missionCode: m.missionCode }),
    });
    if (status === 201) kit.say(`${t("achieved")} (${body.id})`, "ok");
    else fail(status, body);
    refreshPlayer();
  });
  return item;
}

async function refreshBoard() {
  const [{ body: board }, { body: mine }] = await Promise.all([kit.api("/api/missions/catalog"), kit.api("/api/missions?limit=100")]);
  const done = new Set((mine?.missions ?? []).map((m) => m.missionCode));
  kit.patchList($("#missions"), board ?? [], (m) => m.missionCode, (m) => `${done.has(m.missionCode)}${lang}`, (m) => missionRow(m, done.has(m.missionCode)), "");
}

async function refreshGifts() {
  const { body: gifts } = await kit.api("/api/gifts");
  const select = $("#gift");
  const before = select.value;
  select.innerHTML = (gifts ?? []).map((g) => `<option value="${esc(g.giftCode)}">${esc(t("giftOption")(g))}</option>`).join("");
  if ((gifts ?? []).some((g) => g.giftCode === before)) select.value = before;
}

function entryRow(e) {
  const item = kit.element(`<div class="row"><strong>${esc(e.tier)} · ${e.points}${esc(t("points"))}</strong>${kit.badge("entryStatus", e.status)}</div>
    <div class="hint">${esc(e.giftName ?? "")}</div>
    <div class="actions">${e.status === "Issued" ? `<button class="small exchange" type="button">${esc(t("exchange"))}</button>` : ""}</div>`);
  item.dataset.entryId = e.id;
  item.querySelector(".exchange")?.addEventListener("click", async () => {
    kit.say("");
    const { status, body } = await kit.api(`/api/wallet/${e.id}/exchange`, {
      method: "POST", headers: { "idempotency-key": e.id }, body: JSON.stringify({ giftCode: $("#gift").value }),
    });
    if (status === 200) kit.say(t("exchanged"), "ok");
    else fail(status, body);
    refreshPlayer();
  });
  return item;
}

function pageRow(p) {
  const item = kit.element(`<div class="row"><strong>${esc(p.title ?? "")}</strong><span>${esc(p.tier ?? "")} · ${p.points ?? ""}</span></div>
    <div class="badges">${kit.badge("missionStatus", p.missionStatus)}${kit.badge("rewardStatus", p.rewardStatus)}${kit.badge("entryStatus", p.entryStatus)}${kit.badge("giftStatus", p.giftStatus)}</div>
    <div class="hint">${esc(p.giftName ?? "")}</div>
    <details><summary class="hint">${esc(p.missionId)}</summary><ul class="timeline">${p.timeline
      .map((e) => `<li>${esc(new Date(e.at).toLocaleString(lang))} — ${esc(e.step)}</li>`).join("")}</ul></details>`);
  item.dataset.missionId = p.missionId;
  return item;
}

async function refreshPlayer() {
  const [wallet, pages, notices] = await Promise.all([
    kit.api("/api/wallet?limit=100"), kit.api("/api/mypage?limit=100"), kit.api("/api/notifications"),
  ]);
  if (wallet.status === 200) kit.patchList($("#entries"), wallet.body.entries, (e) => e.id, (e) => e.status, entryRow, t("noEntries"));
  if (pages.status === 200) kit.patchList($("#pages"), pages.body.missions, (p) => p.missionId, (p) => p.updatedAt, pageRow, t("noPages"));
  if (notices.status === 200) {
    const text = (m) => kit.element(`<div>${esc(lang === "ko" ? m.ko : m.en)}</div><div class="hint">${esc(new Date(m.at).toLocaleString(lang))}</div>`);
    kit.patchList($("#notices"), notices.body.notifications ?? notices.body, (m) => m.id, (m) => m.id, text, t("noNotices"));
  }
  refreshBoard();
  refreshGifts();
}

// --- Admin -----------------------------------------------------------------------------------
function stockRow(g) {
  const item = kit.element(`<div class="row"><strong>${esc(g.name)}</strong><span>${esc(g.requiredTier)}</span></div>
    <div class="badges">${kit.badge("left", String(g.stock))}</div>
    <div class="actions"><button class="small restock" type="button">${esc(t("restock"))}</button></div>`);
  item.dataset.giftCode = g.giftCode;
  item.querySelector(".restock").addEventListener("click", async () => {
    const { status, body } = await kit.api(`/api/gifts/${g.giftCode}/restock`, { method: "POST", body: JSON.stringify({ quantity: 5 }) });
    if (status === 200) kit.say(t("restocked"), "ok");
    else fail(status, body);
    refreshStock();
  });
  return item;
}

async function refreshStock() {
  const { body: gifts } = await kit.api("/api/gifts");
  kit.patchList($("#stock"), gifts ?? [], (g) => g.giftCode, (g) => `${g.stock}`, stockRow, "");
}

// --- Screens -------------------------------------------------------------------------------
kit.start({
  brand: '<span aria-hidden="true">★</span>',
  screens: [
    { role: "admin", section: "#gifts-view", refresh: refreshStock },
    { role: "customer", section: "#player", refresh: refreshPlayer, live: "/api/mypage/events" },
  ],
});
