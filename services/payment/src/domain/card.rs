//! Cards and their authorization. Like a payment provider's test mode, well-known test numbers
//! decide the outcome: 4242 4242 4242 4242 is approved, 4000 0000 0000 0002 declined,
//! 4000 0000 0000 9995 refused for insufficient funds; any other valid number is approved.

/// A syntactically valid card number (12–19 digits passing the Luhn check).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Card {
    number: String,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Card(**** {})", self.last4())
    }
}

/// Why a card number was refused before authorization.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cardNumber must be 12 to 19 digits with a valid check digit")]
pub(crate) struct InvalidCard;

fn luhn_ok(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl Card {
    /// Accepts a card number.
    pub(crate) fn parse(number: &str) -> Result<Self, InvalidCard> {
        let bytes = number.as_bytes();
        if !(12..=19).contains(&bytes.len())
            || !bytes.iter().all(u8::is_ascii_digit)
            || !luhn_ok(bytes)
        {
            return Err(InvalidCard);
        }
        Ok(Self {
            number: number.to_owned(),
        })
    }

    /// The last four digits, the only part ever stored.
    pub(crate) fn last4(&self) -> String {
        self.number[self.number.len() - 4..].to_owned()
    }
}

/// Why an authorization was declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeclineReason {
    /// The issuer declined.
    CardDeclined,
    /// Not enough funds.
    InsufficientFunds,
}

impl DeclineReason {
    /// The stable code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::CardDeclined => "card_declined",
            Self::InsufficientFunds => "insufficient_funds",
        }
    }
}

/// Authorizes a charge on `card`.
pub(crate) fn authorize(card: &Card) -> Result<(), DeclineReason> {
    match card.number.as_str() {
        "4000000000000002" => Err(DeclineReason::CardDeclined),
        "4000000000009995" => Err(DeclineReason::InsufficientFunds),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_decide_the_outcome() {
        assert_eq!(authorize(&Card::parse("4242424242424242").unwrap()), Ok(()));
        assert_eq!(
            authorize(&Card::parse("4000000000000002").unwrap()),
            Err(DeclineReason::CardDeclined)
        );
        assert_eq!(
            authorize(&Card::parse("4000000000009995").unwrap()),
            Err(DeclineReason::InsufficientFunds)
        );
    }

    #[test]
    fn numbers_failing_the_check_digit_are_invalid() {
        assert_eq!(Card::parse("4242424242424241"), Err(InvalidCard));
        assert_eq!(Card::parse("42424242"), Err(InvalidCard));
        assert_eq!(Card::parse("4242-4242-4242-4242"), Err(InvalidCard));
    }

    #[test]
    fn only_the_last_four_digits_are_shown() {
        let card = Card::parse("4242424242424242").unwrap();
        assert_eq!(card.last4(), "4242");
        assert_eq!(format!("{card:?}"), "Card(**** 4242)");
    }
}
