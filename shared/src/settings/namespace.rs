//! The one configuration namespace every Rieter binary shares.
//!
//! A config file and a deployment's environment are usually shared by the api and the workers,
//! so a key meant for one binary must not be an error in the other; a key meant for none of
//! them is a typo and must be. The known keys are read off the config types themselves (their
//! serde field names), so a field added to a config struct is known without a second list.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::{ApiConfig, WorkerConfig};

/// `RIETER_*` variables that are not configuration keys: the config file's name, the test
/// suite's own settings, and the names the client tools own (`rieter` CLI, `rieter-agent`), so
/// a shell set up for those can also start a server.
pub const OTHER_VARIABLES: [&str; 18] = [
    "RIETER_CONFIG",
    "RIETER_TEST_DATABASE_URL",
    "RIETER_SKIP_ROOT_TESTS",
    "RIETER_URL",
    "RIETER_SERVER_URL",
    "RIETER_AGENT_KEY",
    "RIETER_AGENT_ARCHES",
    "RIETER_AGENT_CAPACITY",
    "RIETER_AGENT_SANDBOX",
    "RIETER_AGENT_LABELS",
    "RIETER_AGENT_NAME",
    "RIETER_AGENT_POLL_SECS",
    "RIETER_AGENT_IMAGE",
    "RIETER_AGENT_CHROOT",
    "RIETER_AGENT_CONFIG",
    "RIETER_AGENT_SIGNING_KEY",
    "RIETER_TEST_ARCH_IMAGE",
    "RIETER_TEST_ARCH_ROOT",
];

/// Every configuration key of every binary.
pub fn known_keys() -> BTreeSet<&'static str> {
    let mut keys = BTreeSet::new();
    keys.extend(field_names::<ApiConfig>());
    keys.extend(field_names::<WorkerConfig>());
    keys
}

/// The field names a struct deserializes, asked of its `Deserialize` implementation: it calls
/// `deserialize_struct` with them, and this deserializer records them and stops there.
pub fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames {
        fields: &mut fields,
    });
    fields
}

struct FieldNames<'a> {
    fields: &'a mut &'static [&'static str],
}

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        *self.fields = fields;
        Err(Stop)
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_binaries_keys_are_known() {
        let keys = known_keys();
        for key in [
            "database_url",
            "api_key",
            "bind",
            "private_distros",
            "parse_concurrency",
            "quiet_period_secs",
            "worker_name",
            "max_parse_cpu_secs",
        ] {
            assert!(keys.contains(key), "{key} missing from {keys:?}");
        }
        assert!(!keys.contains("database"));
    }

    #[test]
    fn other_variables_are_not_keys() {
        let keys = known_keys();
        for var in OTHER_VARIABLES {
            let key = var.trim_start_matches("RIETER_").to_ascii_lowercase();
            assert!(!keys.contains(key.as_str()), "{var} is also a key");
        }
    }
}
