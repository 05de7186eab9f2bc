//! The menu (메뉴): the drinks the cafeteria sells and their prices. The order takes its amount
//! from here; a client never names a price.

/// A drink on the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Drink {
    /// Stable id (`americano`).
    pub id: &'static str,
    /// Korean name.
    pub name_ko: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// KRW per cup.
    pub price: i64,
}

/// Everything on the menu.
pub(crate) const MENU: &[Drink] = &[
    Drink {
        id: "americano",
        name_ko: "아메리카노",
        name_en: "Americano",
        price: 4_500,
    },
    Drink {
        id: "cafe-latte",
        name_ko: "카페라테",
        name_en: "Café latte",
        price: 5_000,
    },
    Drink {
        id: "vanilla-latte",
        name_ko: "바닐라라테",
        name_en: "Vanilla latte",
        price: 5_500,
    },
    Drink {
        id: "cold-brew",
        name_ko: "콜드브루",
        name_en: "Cold brew",
        price: 5_000,
    },
    Drink {
        id: "green-tea-latte",
        name_ko: "녹차라테",
        name_en: "Green tea latte",
        price: 5_500,
    },
    Drink {
        id: "lemonade",
        name_ko: "레몬에이드",
        name_en: "Lemonade",
        price: 6_000,
    },
];

/// The drink with `id`.
pub(crate) fn drink(id: &str) -> Option<&'static Drink> {
    MENU.iter().find(|d| d.id == id)
}
