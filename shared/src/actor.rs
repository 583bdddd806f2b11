//! Who did something: the key behind an upload or a removal, as recorded with it.
//!
//! The record holds the key's id while the key exists and its name and prefix as they were at
//! the time, so it still says who acted after the key is revoked.

use uuid::Uuid;

use crate::keys::PREFIX_LEN;

/// The name recorded for the configured admin key, which has no row of its own.
pub const CONFIG_NAME: &str = "configured admin key";
/// Longest name of a key, in characters (also what `key_admin::create` accepts).
pub const MAX_NAME_CHARS: usize = 200;

/// Which kind of key acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// A key made with `POST /api/v1/keys`.
    Key,
    /// The configured admin key (`api_key` / `RIETER_API_KEY`).
    Config,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Config => "config",
        }
    }
}

/// The key that did an upload or a removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The configured admin key.
    Config,
    /// A key made with the API; `id` is `None` once the key is deleted.
    Key {
        id: Option<Uuid>,
        name: String,
        prefix: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActorError {
    #[error("unknown actor kind `{0}`")]
    UnknownKind(String),
    #[error("a key's name must have 1 to {MAX_NAME_CHARS} characters")]
    BadName,
    #[error("`{0}` is not the prefix of a key")]
    BadPrefix(String),
    #[error("an actor of kind `{0}` is missing a part or has one too many")]
    Inconsistent(&'static str),
}

impl Actor {
    /// A key from the database, as it is now.
    pub fn key(id: Uuid, name: &str, prefix: &str) -> Result<Self, ActorError> {
        Self::checked_key(Some(id), name, prefix)
    }

    fn checked_key(id: Option<Uuid>, name: &str, prefix: &str) -> Result<Self, ActorError> {
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(ActorError::BadName);
        }
        let hex = prefix.strip_prefix("rieter_").unwrap_or_default();
        if prefix.len() != PREFIX_LEN || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ActorError::BadPrefix(prefix.to_owned()));
        }
        Ok(Self::Key {
            id,
            name: name.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// An actor as stored in the `*_kind`, `*_key_id`, `*_name` and `*_prefix` columns; `None`
    /// for a record from before actors were kept.
    pub fn from_columns(
        kind: Option<&str>,
        key_id: Option<Uuid>,
        name: Option<&str>,
        prefix: Option<&str>,
    ) -> Result<Option<Self>, ActorError> {
        match (kind, name, prefix) {
            (None, None, None) if key_id.is_none() => Ok(None),
            (None, ..) => Err(ActorError::Inconsistent("none")),
            (Some("config"), Some(_), None) if key_id.is_none() => Ok(Some(Self::Config)),
            (Some("config"), ..) => Err(ActorError::Inconsistent("config")),
            (Some("key"), Some(name), Some(prefix)) => {
                Self::checked_key(key_id, name, prefix).map(Some)
            }
            (Some("key"), ..) => Err(ActorError::Inconsistent("key")),
            (Some(other), ..) => Err(ActorError::UnknownKind(other.to_owned())),
        }
    }

    pub fn kind(&self) -> ActorKind {
        match self {
            Self::Config => ActorKind::Config,
            Self::Key { .. } => ActorKind::Key,
        }
    }

    pub fn key_id(&self) -> Option<Uuid> {
        match self {
            Self::Config => None,
            Self::Key { id, .. } => *id,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Config => CONFIG_NAME,
            Self::Key { name, .. } => name,
        }
    }

    pub fn prefix(&self) -> Option<&str> {
        match self {
            Self::Config => None,
            Self::Key { prefix, .. } => Some(prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "rieter_0123abcd";

    #[test]
    fn actors_round_trip_through_their_columns() {
        let id = Uuid::now_v7();
        for actor in [
            Actor::Config,
            Actor::key(id, "ci for extra", PREFIX).unwrap(),
        ] {
            let stored = Actor::from_columns(
                Some(actor.kind().as_str()),
                actor.key_id(),
                Some(actor.name()),
                actor.prefix(),
            );
            assert_eq!(stored, Ok(Some(actor.clone())));
        }
        assert_eq!(Actor::from_columns(None, None, None, None), Ok(None));
    }

    #[test]
    fn a_deleted_key_keeps_its_name_and_prefix() {
        let actor = Actor::from_columns(Some("key"), None, Some("ci"), Some(PREFIX))
            .unwrap()
            .unwrap();
        assert_eq!(actor.key_id(), None);
        assert_eq!((actor.name(), actor.prefix()), ("ci", Some(PREFIX)));
    }

    #[test]
    fn malformed_actors_are_refused() {
        let id = Uuid::now_v7();
        assert_eq!(Actor::key(id, "", PREFIX), Err(ActorError::BadName));
        assert_eq!(
            Actor::key(id, &"x".repeat(201), PREFIX),
            Err(ActorError::BadName)
        );
        assert!(matches!(
            Actor::key(id, "ci", "rieter_../../x"),
            Err(ActorError::BadPrefix(_))
        ));
        assert!(matches!(
            Actor::key(id, "ci", "configured"),
            Err(ActorError::BadPrefix(_))
        ));
        assert!(matches!(
            Actor::from_columns(Some("config"), Some(id), Some(CONFIG_NAME), None),
            Err(ActorError::Inconsistent("config"))
        ));
        assert!(matches!(
            Actor::from_columns(Some("key"), Some(id), Some("ci"), None),
            Err(ActorError::Inconsistent("key"))
        ));
        assert!(matches!(
            Actor::from_columns(Some("robot"), None, Some("ci"), None),
            Err(ActorError::UnknownKind(_))
        ));
    }
}
