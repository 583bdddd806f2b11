//! A target's schedule: a five-field cron expression, evaluated in UTC by the server.

use std::str::FromStr;

use chrono::{DateTime, Utc};

/// A validated cron schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    text: String,
    cron: croner::Cron,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "a schedule has five fields (minute hour day-of-month month day-of-week), e.g. \
         `0 3 * * *`; this one has {0}"
    )]
    Fields(usize),
    #[error("the schedule `{text}` is not a cron expression: {reason}")]
    Invalid { text: String, reason: String },
    #[error("the schedule `{0}` never comes due")]
    Never(String),
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let fields = text.split(' ').filter(|f| !f.is_empty()).count();
        if fields != 5 {
            return Err(ScheduleError::Fields(fields));
        }
        let cron = croner::Cron::from_str(&text).map_err(|e| ScheduleError::Invalid {
            text: text.clone(),
            reason: e.to_string(),
        })?;
        let schedule = Self { text, cron };
        // `0 0 30 2 *` parses but never comes due.
        if schedule.next_after(Utc::now()).is_none() {
            return Err(ScheduleError::Never(schedule.text));
        }
        Ok(schedule)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first time the schedule comes due strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn five_fields_due_in_utc() {
        let s = Schedule::parse(" 0  3 * * * ").unwrap();
        assert_eq!(s.as_str(), "0 3 * * *");
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 2, 59, 0).unwrap();
        assert_eq!(
            s.next_after(at),
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap())
        );
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap();
        assert_eq!(
            s.next_after(at),
            Some(Utc.with_ymd_and_hms(2026, 12, 2, 3, 0, 0).unwrap())
        );
    }

    #[test]
    fn other_shapes_are_refused_with_the_reason() {
        assert_eq!(
            Schedule::parse("0 0 3 * * *").unwrap_err(),
            ScheduleError::Fields(6)
        );
        assert_eq!(
            Schedule::parse("@daily").unwrap_err(),
            ScheduleError::Fields(1)
        );
        assert!(matches!(
            Schedule::parse("61 3 * * *"),
            Err(ScheduleError::Invalid { .. })
        ));
        assert!(matches!(
            Schedule::parse("0 0 30 2 *"),
            Err(ScheduleError::Never(_))
        ));
    }
}
