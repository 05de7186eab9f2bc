//! What can be rented, where it can go and where it is picked up: the catalog the reservation
//! form is built from.

use super::values::{Krw, RentalPeriod};

/// A device model with its daily rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceModel {
    /// Catalog id.
    pub id: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Korean name.
    pub name_ko: &'static str,
    /// Daily rate.
    pub daily_rate: Krw,
}

/// A destination country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Country {
    /// ISO 3166-1 alpha-2 code.
    pub code: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Korean name.
    pub name_ko: &'static str,
}

/// An airport booth where devices are handed out and returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Booth {
    /// Booth code.
    pub code: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Korean name.
    pub name_ko: &'static str,
}

/// Device models on offer.
pub(crate) const DEVICE_MODELS: &[DeviceModel] = &[
    DeviceModel {
        id: "egg-lte",
        name_en: "LTE pocket Wi-Fi (egg)",
        name_ko: "LTE 포켓 와이파이 (에그)",
        daily_rate: Krw::new(3_300),
    },
    DeviceModel {
        id: "galaxy-s24",
        name_en: "Galaxy S24 roaming phone",
        name_ko: "갤럭시 S24 로밍폰",
        daily_rate: Krw::new(9_900),
    },
    DeviceModel {
        id: "iphone-15",
        name_en: "iPhone 15 roaming phone",
        name_ko: "아이폰 15 로밍폰",
        daily_rate: Krw::new(11_000),
    },
];

/// Countries the devices work in.
pub(crate) const COUNTRIES: &[Country] = &[
    Country {
        code: "US",
        name_en: "United States",
        name_ko: "미국",
    },
    Country {
        code: "JP",
        name_en: "Japan",
        name_ko: "일본",
    },
    Country {
        code: "CN",
        name_en: "China",
        name_ko: "중국",
    },
    Country {
        code: "VN",
        name_en: "Vietnam",
        name_ko: "베트남",
    },
    Country {
        code: "TH",
        name_en: "Thailand",
        name_ko: "태국",
    },
    Country {
        code: "SG",
        name_en: "Singapore",
        name_ko: "싱가포르",
    },
    Country {
        code: "FR",
        name_en: "France",
        name_ko: "프랑스",
    },
    Country {
        code: "DE",
        name_en: "Germany",
        name_ko: "독일",
    },
    Country {
        code: "GB",
        name_en: "United Kingdom",
        name_ko: "영국",
    },
    Country {
        code: "AU",
        name_en: "Australia",
        name_ko: "호주",
    },
];

/// Pickup booths.
pub(crate) const BOOTHS: &[Booth] = &[
    Booth {
        code: "ICN-T1",
        name_en: "Incheon Airport Terminal 1",
        name_ko: "인천공항 제1터미널",
    },
    Booth {
        code: "ICN-T2",
        name_en: "Incheon Airport Terminal 2",
        name_ko: "인천공항 제2터미널",
    },
    Booth {
        code: "GMP",
        name_en: "Gimpo Airport",
        name_ko: "김포공항",
    },
    Booth {
        code: "PUS",
        name_en: "Gimhae Airport (Busan)",
        name_ko: "김해공항",
    },
];

/// Looks up a device model.
pub(crate) fn device_model(id: &str) -> Option<&'static DeviceModel> {
    DEVICE_MODELS.iter().find(|d| d.id == id)
}

/// Looks up a country.
pub(crate) fn country(code: &str) -> Option<&'static Country> {
    COUNTRIES.iter().find(|c| c.code == code)
}

/// Looks up a booth.
pub(crate) fn booth(code: &str) -> Option<&'static Booth> {
    BOOTHS.iter().find(|b| b.code == code)
}

/// Price of renting `model` for `period`: daily rate times days.
pub(crate) fn price(model: &DeviceModel, period: &RentalPeriod) -> Krw {
    Krw::new(model.daily_rate.value() * period.days())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_price_is_the_daily_rate_times_the_days() {
        let today = date!(2026 - 12 - 01);
        let period = RentalPeriod::new(today, date!(2026 - 12 - 05), today).unwrap();
        assert_eq!(
            price(device_model("galaxy-s24").unwrap(), &period),
            Krw::new(39_600)
        );
    }

    #[test]
    fn unknown_entries_are_not_found() {
        assert!(device_model("nokia-3310").is_none());
        assert!(country("XX").is_none());
        assert!(booth("ICN-T3").is_none());
        assert!(booth("ICN-T1").is_some());
    }
}
