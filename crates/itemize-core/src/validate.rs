//! Field-level validation: every problem with an input is collected and reported at once, by field.

use serde::{Deserialize, Serialize};

/// One problem with one field of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { field: field.into(), problem: problem.into() }
    }
}

/// A collector of [`FieldError`]s.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.0.push(FieldError::new(field, problem));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a problem was already reported for `field`.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() { Ok(value()) } else { Err(self.0) }
    }

    /// Trimmed text that must be present, at most `max` characters, without control characters.
    pub fn required_text(&mut self, field: &str, value: Option<String>, max: usize) -> Option<String> {
        match self.optional_text(field, value, max) {
            Some(v) => Some(v),
            None => {
                if !self.has(field) {
                    self.add(field, "is required");
                }
                None
            }
        }
    }

    /// Trimmed text that may be absent (empty counts as absent).
    pub fn optional_text(&mut self, field: &str, value: Option<String>, max: usize) -> Option<String> {
        let v = value?.trim().to_string();
        if v.is_empty() {
            return None;
        }
        if v.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
            return None;
        }
        if v.chars().any(|c| c.is_control()) {
            self.add(field, "must not contain control characters such as tabs or line breaks");
            return None;
        }
        Some(v)
    }

    /// A short identifier: letters, digits and `. _ / -`, starting with a letter or digit, 1–32 characters.
    pub fn code(&mut self, field: &str, value: Option<String>) -> Option<String> {
        let v = self.required_text(field, value, 32)?;
        let ok = v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'));
        if ok {
            Some(v)
        } else {
            self.add(field, "must start with a letter or digit and contain only letters, digits and . _ / -");
            None
        }
    }

    /// A field's text, trimmed, when there is any; "is required" reported when there is none and it must be given.
    fn present(&mut self, field: &str, value: Option<String>, required: bool) -> Option<String> {
        let v = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        if v.is_none() && required {
            self.add(field, "is required");
        }
        v
    }

    /// A calendar date as `YYYY-MM-DD`; anything else is named with the form expected (the parser's own words,
    /// "failed to parse two digit integer as month", tell a user nothing).
    pub fn date(&mut self, field: &str, value: Option<String>, required: bool) -> Option<jiff::civil::Date> {
        let v = self.present(field, value, required)?;
        match v.parse::<jiff::civil::Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                self.add(field, format!("`{v}` is not a date: give it as YYYY-MM-DD (2026-03-31)"));
                None
            }
        }
    }

    /// Parses with `FromStr`, reporting the parser's message against the field.
    pub fn parsed<T: std::str::FromStr>(
        &mut self,
        field: &str,
        value: Option<String>,
        required: bool,
    ) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let v = self.present(field, value, required)?;
        match v.parse() {
            Ok(t) => Some(t),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// A positive id.
    pub fn id(&mut self, field: &str, value: Option<i64>) -> Option<i64> {
        match value {
            Some(v) if v > 0 => Some(v),
            Some(_) => {
                self.add(field, "must be a positive id");
                None
            }
            None => None,
        }
    }
}

/// Checks an e-mail address's shape (not its deliverability) and lower-cases it.
pub fn email(p: &mut Problems, field: &str, value: Option<String>) -> Option<String> {
    let v = p.required_text(field, value, 254)?;
    let lower = v.to_lowercase();
    let valid = match lower.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !lower.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Some(lower)
    } else {
        p.add(field, format!("`{v}` is not an e-mail address"));
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_date_that_is_not_one_is_named_with_the_form_expected() {
        let mut p = Problems::default();
        assert_eq!(p.date("warranty_end", Some("2026-13-01".into()), false), None);
        assert_eq!(
            p.date("warranty_end", Some(" 2026-12-31 ".into()), false),
            Some(jiff::civil::date(2026, 12, 31))
        );
        assert_eq!(p.date("start_date", None, true), None);
        let e = p.finish(|| ()).unwrap_err();
        assert_eq!(e[0].problem, "`2026-13-01` is not a date: give it as YYYY-MM-DD (2026-03-31)");
        assert_eq!((e[1].field.as_str(), e[1].problem.as_str()), ("start_date", "is required"));
    }

    use super::*;

    #[test]
    fn collects_every_problem() {
        let mut p = Problems::default();
        assert_eq!(p.required_text("name", Some("  ".into()), 10), None);
        assert_eq!(p.code("code", Some("bad code".into())), None);
        assert_eq!(p.required_text("title", Some("x".repeat(11)), 10), None);
        assert_eq!(
            email(&mut p, "email", Some("Ann.Lee@Example.COM".into())).as_deref(),
            Some("ann.lee@example.com")
        );
        assert_eq!(email(&mut p, "email2", Some("ann@localhost".into())), None);
        let errs = p.finish(|| ()).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "code", "title", "email2"]);
        assert_eq!(errs[0].problem, "is required");
    }
}
