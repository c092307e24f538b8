//! Bounds of quality checks as ODCS writes them (`mustBe`, `mustBeBetween`, ...).

use std::fmt;

use serde_json::Value;

/// A comparison the measured value must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// `= v`
    Eq(f64),
    /// `<> v`
    Ne(f64),
    /// `< v`
    Lt(f64),
    /// `<= v`
    Le(f64),
    /// `> v`
    Gt(f64),
    /// `>= v`
    Ge(f64),
    /// `between a and b` (inclusive)
    Between(f64, f64),
    /// `not between a and b`
    NotBetween(f64, f64),
    /// `= 'text'`: `mustBe` with a string or boolean (a SQL check returning text).
    IsText(String),
    /// `<> 'text'`: `mustNotBe` with a string or boolean.
    IsNotText(String),
}

impl Bound {
    /// True when `v` satisfies the bound (a text bound holds for a number it reads as).
    pub fn holds(&self, v: f64) -> bool {
        match *self {
            Bound::IsText(ref t) => t.trim().parse::<f64>().is_ok_and(|a| a == v),
            Bound::IsNotText(ref t) => !t.trim().parse::<f64>().is_ok_and(|a| a == v),
            Bound::Eq(a) => v == a,
            Bound::Ne(a) => v != a,
            Bound::Lt(a) => v < a,
            Bound::Le(a) => v <= a,
            Bound::Gt(a) => v > a,
            Bound::Ge(a) => v >= a,
            Bound::Between(a, b) => v >= a && v <= b,
            Bound::NotBetween(a, b) => v < a || v > b,
        }
    }

    /// For a text bound, whether the measured value, as text, satisfies it; `None` for a
    /// numeric bound.
    pub fn holds_text(&self, text: &str) -> Option<bool> {
        match self {
            Bound::IsText(t) => Some(text == t),
            Bound::IsNotText(t) => Some(text != t),
            _ => None,
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = |v: f64| number(v);
        match self {
            Bound::IsText(t) => return write!(f, "= '{t}'"),
            Bound::IsNotText(t) => return write!(f, "<> '{t}'"),
            _ => {}
        }
        match *self {
            Bound::Eq(a) => write!(f, "= {}", n(a)),
            Bound::Ne(a) => write!(f, "<> {}", n(a)),
            Bound::Lt(a) => write!(f, "< {}", n(a)),
            Bound::Le(a) => write!(f, "<= {}", n(a)),
            Bound::Gt(a) => write!(f, "> {}", n(a)),
            Bound::Ge(a) => write!(f, ">= {}", n(a)),
            Bound::Between(a, b) => write!(f, "between {} and {}", n(a), n(b)),
            Bound::NotBetween(a, b) => write!(f, "not between {} and {}", n(a), n(b)),
            Bound::IsText(_) | Bound::IsNotText(_) => Ok(()),
        }
    }
}

/// A number as a person writes it: integers without a fraction, others with up to 4 digits.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The ODCS bound of a quality entry (`mustBe`, `mustBeGreaterThan`, ...), if it has one.
pub fn bound(def: &Value) -> Result<Option<Bound>, String> {
    let num = |key: &str| -> Result<Option<f64>, String> {
        match def.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| format!("'{key}' needs a number, not {v}")),
        }
    };
    let pair = |key: &str| -> Result<Option<(f64, f64)>, String> {
        match def.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) if a.len() == 2 => match (a[0].as_f64(), a[1].as_f64()) {
                (Some(x), Some(y)) if x <= y => Ok(Some((x, y))),
                _ => Err(format!("'{key}' needs two numbers, the smaller first")),
            },
            Some(_) => Err(format!("'{key}' needs a list of two numbers: [low, high]")),
        }
    };
    // mustBe and mustNotBe may compare text (the standard leaves their type open)
    let exact = |key: &str| -> Result<Option<Result<f64, String>>, String> {
        match def.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(Err(s.clone()))),
            Some(Value::Bool(b)) => Ok(Some(Err(b.to_string()))),
            Some(v) => v
                .as_f64()
                .map(|x| Some(Ok(x)))
                .ok_or_else(|| format!("'{key}' needs a number, a string or true/false, not {v}")),
        }
    };
    let found = [
        (
            "mustBe",
            exact("mustBe")?.map(|v| v.map_or_else(Bound::IsText, Bound::Eq)),
        ),
        (
            "mustNotBe",
            exact("mustNotBe")?.map(|v| v.map_or_else(Bound::IsNotText, Bound::Ne)),
        ),
        (
            "mustBeGreaterThan",
            num("mustBeGreaterThan")?.map(Bound::Gt),
        ),
        (
            "mustBeGreaterOrEqualTo",
            num("mustBeGreaterOrEqualTo")?
                .or(num("mustBeGreaterThanOrEqualTo")?)
                .map(Bound::Ge),
        ),
        ("mustBeLessThan", num("mustBeLessThan")?.map(Bound::Lt)),
        (
            "mustBeLessOrEqualTo",
            num("mustBeLessOrEqualTo")?
                .or(num("mustBeLessThanOrEqualTo")?)
                .map(Bound::Le),
        ),
        (
            "mustBeBetween",
            pair("mustBeBetween")?.map(|(a, b)| Bound::Between(a, b)),
        ),
        (
            "mustNotBeBetween",
            pair("mustNotBeBetween")?.map(|(a, b)| Bound::NotBetween(a, b)),
        ),
    ];
    let set: Vec<_> = found.into_iter().filter(|(_, b)| b.is_some()).collect();
    match set.len() {
        0 => Ok(None),
        1 => Ok(set.into_iter().next().and_then(|(_, b)| b)),
        _ => Err(format!(
            "a quality entry takes one bound, found {}",
            set.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_read_and_hold() {
        let b = bound(&serde_json::json!({"mustBeBetween": [1, 5]})).unwrap();
        assert_eq!(b, Some(Bound::Between(1.0, 5.0)));
        assert!(b.as_ref().unwrap().holds(5.0) && !b.unwrap().holds(5.5));
        assert!(bound(&serde_json::json!({"mustBe": 0, "mustBeLessThan": 3})).is_err());
        assert!(bound(&serde_json::json!({"mustBeBetween": [5, 1]})).is_err());
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.125), "0.125");
    }
}
