//! The catalog: musicals, their performances (start times in Asia/Seoul) and seat grades with
//! price and capacity. Fixed, so that ids and prices are stable for clients and tests.

use time::OffsetDateTime;
use time::macros::datetime;

/// A seat grade of a performance.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Grade {
    /// `VIP`, `R`, `S`.
    pub grade: &'static str,
    /// KRW per ticket.
    pub price: i64,
    /// Seats.
    pub capacity: i64,
}

/// One performance.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Performance {
    /// Stable id.
    pub id: &'static str,
    /// Curtain up.
    pub starts_at: OffsetDateTime,
    /// Its seat grades.
    pub grades: &'static [Grade],
}

/// A musical.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Musical {
    /// Stable id.
    pub id: &'static str,
    /// Korean title.
    pub title_ko: &'static str,
    /// English title.
    pub title_en: &'static str,
    /// Where.
    pub venue: &'static str,
    /// Its performances.
    pub performances: &'static [Performance],
}

/// What a customer picked from the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seats {
    /// The musical.
    pub musical: &'static Musical,
    /// The performance.
    pub performance: &'static Performance,
    /// The grade.
    pub grade: &'static Grade,
}

impl Seats {
    /// The seat counter this choice takes from: `<performance>/<grade>`.
    pub(crate) fn counter_key(&self) -> String {
        format!("{}/{}", self.performance.id, self.grade.grade)
    }
}

const GRADES: &[Grade] = &[
    Grade {
        grade: "VIP",
        price: 170_000,
        capacity: 40,
    },
    Grade {
        grade: "R",
        price: 140_000,
        capacity: 80,
    },
    Grade {
        grade: "S",
        price: 110_000,
        capacity: 120,
    },
];

const SMALL_HALL: &[Grade] = &[
    Grade {
        grade: "R",
        price: 99_000,
        capacity: 30,
    },
    Grade {
        grade: "S",
        price: 66_000,
        capacity: 4,
    },
];

const ARENA: &[Grade] = &[
    Grade {
        grade: "R",
        price: 132_000,
        capacity: 10_000,
    },
    Grade {
        grade: "S",
        price: 99_000,
        capacity: 50_000,
    },
];

/// Every musical on sale.
pub(crate) const MUSICALS: &[Musical] = &[
    Musical {
        id: "elisabeth",
        title_ko: "엘리자벳",
        title_en: "Elisabeth",
        venue: "블루스퀘어 신한카드홀 Blue Square",
        performances: &[
            Performance {
                id: "elisabeth-2030-03-14",
                starts_at: datetime!(2030-03-14 19:30 +09:00),
                grades: GRADES,
            },
            Performance {
                id: "elisabeth-2030-03-15",
                starts_at: datetime!(2030-03-15 14:00 +09:00),
                grades: GRADES,
            },
            // The arena night: enough seats for load tests (`scripts/measure.sh`).
            Performance {
                id: "elisabeth-2030-05-01",
                starts_at: datetime!(2030-05-01 19:00 +09:00),
                grades: ARENA,
            },
        ],
    },
    Musical {
        id: "frankenstein",
        title_ko: "프랑켄슈타인",
        title_en: "Frankenstein",
        venue: "충무아트센터 Chungmu Arts Center",
        performances: &[Performance {
            id: "frankenstein-2030-04-02",
            starts_at: datetime!(2030-04-02 20:00 +09:00),
            grades: SMALL_HALL,
        }],
    },
];

/// Why a pick is not in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[allow(clippy::enum_variant_names)] // "unknown musical", "unknown grade": the API's own codes
pub(crate) enum CatalogError {
    /// No such musical.
    #[error("no musical {0:?}")]
    UnknownMusical(String),
    /// No such performance of the musical.
    #[error("musical {musical} has no performance {performance:?}")]
    UnknownPerformance {
        /// The musical.
        musical: &'static str,
        /// What was asked for.
        performance: String,
    },
    /// No such grade at the performance.
    #[error("performance {performance} has no grade {grade:?}")]
    UnknownGrade {
        /// The performance.
        performance: &'static str,
        /// What was asked for.
        grade: String,
    },
}

/// Looks a pick up.
pub(crate) fn seats(musical: &str, performance: &str, grade: &str) -> Result<Seats, CatalogError> {
    let musical = MUSICALS
        .iter()
        .find(|m| m.id == musical)
        .ok_or_else(|| CatalogError::UnknownMusical(musical.to_owned()))?;
    let performance = musical
        .performances
        .iter()
        .find(|p| p.id == performance)
        .ok_or_else(|| CatalogError::UnknownPerformance {
            musical: musical.id,
            performance: performance.to_owned(),
        })?;
    let grade = performance
        .grades
        .iter()
        .find(|g| g.grade == grade)
        .ok_or_else(|| CatalogError::UnknownGrade {
            performance: performance.id,
            grade: grade.to_owned(),
        })?;
    Ok(Seats {
        musical,
        performance,
        grade,
    })
}

/// Every pick with its capacity: the seat counters to open.
pub(crate) fn all_seats() -> impl Iterator<Item = Seats> {
    MUSICALS.iter().flat_map(|musical| {
        musical.performances.iter().flat_map(move |performance| {
            performance.grades.iter().map(move |grade| Seats {
                musical,
                performance,
                grade,
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_are_found_by_id_and_unknown_ones_say_what_is_unknown() {
        let picked = seats("elisabeth", "elisabeth-2030-03-14", "VIP").unwrap();
        assert_eq!(picked.grade.price, 170_000);
        assert_eq!(picked.counter_key(), "elisabeth-2030-03-14/VIP");
        assert!(matches!(
            seats("cats", "x", "R"),
            Err(CatalogError::UnknownMusical(_))
        ));
        assert!(matches!(
            seats("elisabeth", "x", "R"),
            Err(CatalogError::UnknownPerformance { .. })
        ));
        assert!(matches!(
            seats("frankenstein", "frankenstein-2030-04-02", "VIP"),
            Err(CatalogError::UnknownGrade { .. })
        ));
        assert_eq!(all_seats().count(), 10);
    }
}
