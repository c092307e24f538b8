//! PII detectors: whether a value looks like one of the seed's PII types — `email`, `phone`,
//! `ssn`, `credit_card` (with the Luhn checksum), `address` — and whether a column's name
//! suggests one. `lakemeta classify` proposes classifications from them.

use std::sync::LazyLock;

use regex::Regex;

/// The PII types the detectors know, in the order they are tried (the most specific first).
pub const DETECTED_TYPES: [&str; 5] = ["email", "ssn", "credit_card", "phone", "address"];

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
        .unwrap_or_else(|_| unreachable!())
});
static SSN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d{3})-(\d{2})-(\d{4})$").unwrap_or_else(|_| unreachable!()));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\+?[0-9(][0-9 ().-]{5,20}[0-9]$").unwrap_or_else(|_| unreachable!())
});
/// Dates and IPv4 addresses: digits and separators that are no phone number.
static NOT_PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d{1,3}(\.\d{1,3}){3})([ T].*)?$",
    )
    .unwrap_or_else(|_| unreachable!())
});
static STREET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|strasse|straße|weg|rue|calle)\b\.?",
    )
    .unwrap_or_else(|_| unreachable!())
});

/// The PII type `value` looks like, if any.
pub fn detect(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.is_empty() || v.len() > 200 {
        return None;
    }
    if EMAIL.is_match(v) {
        return Some("email");
    }
    if let Some(c) = SSN.captures(v) {
        // area 000, 666 and 9xx, group 00 and serial 0000 are never issued
        let (area, group, serial) = (&c[1], &c[2], &c[3]);
        let issued = area != "000"
            && area != "666"
            && !area.starts_with('9')
            && group != "00"
            && serial != "0000";
        // shaped like one but never issued: no PII type (not a phone number either)
        return issued.then_some("ssn");
    }
    let digits: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
    let only_card_chars = v
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
    if only_card_chars && (13..=19).contains(&digits.len()) && luhn(&digits) {
        return Some("credit_card");
    }
    let separated = v.contains(['+', '-', ' ', '(', '.']);
    if PHONE.is_match(v) && separated && (7..=15).contains(&digits.len()) && !NOT_PHONE.is_match(v)
    {
        return Some("phone");
    }
    if STREET.is_match(v) && !digits.is_empty() && v.chars().any(char::is_alphabetic) {
        return Some("address");
    }
    None
}

/// The Luhn checksum of card numbers.
pub fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The PII type a column's name suggests (`customer_email`, `phone_number`, `ssn`, `card_no`,
/// `street_address`), if any.
pub fn suggested_by_name(column: &str) -> Option<&'static str> {
    let n = column.to_lowercase();
    let has = |w: &str| n.contains(w);
    if has("email") || has("e_mail") {
        Some("email")
    } else if has("ssn") || n.contains("social_security") {
        Some("ssn")
    } else if n.contains("card_number")
        || n.contains("credit_card")
        || n.contains("card_no")
        || n == "pan"
    {
        Some("credit_card")
    } else if has("phone") || n.contains("mobile") || n.contains("msisdn") {
        Some("phone")
    } else if n.contains("address") && !n.contains("ip_address") && !n.contains("email") {
        Some("address")
    } else {
        None
    }
}

/// How a sample of one column's values matched: the type most of its values look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The PII type.
    pub classification: &'static str,
    /// Values that looked like it.
    pub matched: usize,
    /// Non-null values sampled.
    pub sampled: usize,
}

/// The share of non-null sampled values that must look like one type for a finding.
pub const MIN_SHARE: f64 = 0.8;

/// The finding for a column from its sampled non-null values, when at least [`MIN_SHARE`] of
/// them look like one type.
pub fn find<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Finding> {
    let mut counts = [0usize; DETECTED_TYPES.len()];
    let mut sampled = 0usize;
    for v in values {
        sampled += 1;
        if let Some(t) = detect(v)
            && let Some(i) = DETECTED_TYPES.iter().position(|d| *d == t)
        {
            counts[i] += 1;
        }
    }
    let (i, &matched) = counts.iter().enumerate().max_by_key(|(_, c)| **c)?;
    (sampled > 0 && matched as f64 >= MIN_SHARE * sampled as f64).then_some(Finding {
        classification: DETECTED_TYPES[i],
        matched,
        sampled,
    })
}

/// The finding for column `column` of sampled rows `batches` (its values read as text; a column
/// that is absent or cannot be read as text has none), and how many non-null values there were.
pub fn find_in_batches(
    batches: &[arrow::array::RecordBatch],
    column: &str,
) -> (Option<Finding>, usize) {
    use arrow::array::AsArray;
    let mut values: Vec<String> = Vec::new();
    for b in batches {
        let Some(col) = b.column_by_name(column) else {
            continue;
        };
        let Ok(col) = arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8) else {
            continue;
        };
        values.extend(col.as_string::<i32>().iter().flatten().map(str::to_string));
    }
    (find(values.iter().map(String::as_str)), values.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_detector_matches_its_type_and_not_the_others() {
        assert_eq!(detect("jane.doe@example.com"), Some("email"));
        assert_eq!(detect("123-45-6789"), Some("ssn"));
        assert_eq!(detect("000-45-6789"), None);
        // a Visa test number passes Luhn; one digit changed does not
        assert_eq!(detect("4111 1111 1111 1111"), Some("credit_card"));
        assert_eq!(detect("4111 1111 1111 1112"), None);
        assert_eq!(detect("+1-555-0101"), Some("phone"));
        assert_eq!(detect("(030) 1234567"), Some("phone"));
        assert_eq!(detect("Main St 12"), Some("address"));
        assert_eq!(detect("12 Rue de Rivoli"), Some("address"));
        for plain in [
            "eu",
            "1234567",
            "2024-01-05",
            "2024-01-05 10:00:00",
            "05.01.2024",
            "192.168.10.1",
            "o-12345",
            "100.50",
            "Main",
        ] {
            assert_eq!(detect(plain), None, "{plain}");
        }
    }

    #[test]
    fn a_column_is_found_when_most_values_match() {
        let emails = ["a@b.co", "c@d.org", "x@y.io", "n/a", "e@f.com"];
        let f = find(emails.iter().copied()).unwrap();
        assert_eq!((f.classification, f.matched, f.sampled), ("email", 4, 5));
        assert_eq!(find(["a@b.co", "n/a", "none"].iter().copied()), None);
        assert_eq!(find(std::iter::empty()), None);
        assert_eq!(suggested_by_name("customer_email"), Some("email"));
        assert_eq!(suggested_by_name("ip_address"), None);
        assert_eq!(suggested_by_name("region"), None);
    }
}
