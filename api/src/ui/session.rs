//! Signing in to the pages: the session cookie, whose session a request carries, and the
//! CSRF check every form's `POST` passes. Sessions are stored by `rieter::db::sessions`; a
//! session's principal decides what the pages show and allow, exactly as the same key would in
//! the JSON API (`Principal::may`, `Authenticator::hidden_for`).

use poem::http::header;
use poem::web::Redirect;
use poem::{IntoResponse, Request, Response};
use rieter::db::keys::KeyDbError;
use rieter::db::sessions::{self, Stored};
use rieter::keys::digests_match;
use rieter::sessions::Token;
use serde::Deserialize;

use super::page::{database_error, forged_form, server_error};
use crate::auth::Principal;
use crate::state::AppState;

/// The cookie holding the session token.
pub const SESSION_COOKIE: &str = "rieter_session";
/// The cookie pairing a sign-in form with the browser that asked for it (the sign-in's CSRF
/// token, before there is a session).
pub const LOGIN_COOKIE: &str = "rieter_login";
/// How long a sign-in form stays usable.
pub const LOGIN_FORM_SECS: i64 = 60 * 60;

/// A form whose only field is the CSRF token (buttons that do one thing).
#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: Option<String>,
}

/// Who is looking at a page.
pub struct Visitor {
    pub principal: Principal,
    /// The session's token; `None` for a visitor who is not signed in.
    pub session: Option<Token>,
}

impl Visitor {
    pub fn anonymous() -> Self {
        Self {
            principal: Principal::Anonymous,
            session: None,
        }
    }

    pub fn signed_in(&self) -> bool {
        self.session.is_some()
    }

    /// The CSRF token forms carry; empty when not signed in.
    pub fn csrf(&self) -> String {
        self.session.as_ref().map(Token::csrf).unwrap_or_default()
    }

    /// Whether a posted form carries this session's CSRF token. Never true without a session.
    pub fn csrf_ok(&self, presented: Option<&str>) -> bool {
        match (&self.session, presented) {
            (Some(session), Some(presented)) => session.csrf_matches(presented),
            _ => false,
        }
    }

    /// How the page names the principal.
    pub fn describe(&self) -> String {
        match &self.principal {
            Principal::Anonymous => String::new(),
            Principal::Admin => "the configured admin key".to_owned(),
            Principal::Key { actor, .. } => match actor.prefix() {
                Some(prefix) => format!("key “{}” ({prefix}…)", actor.name()),
                None => format!("key “{}”", actor.name()),
            },
        }
    }
}

/// The visitor whose session cookie `req` carries: anonymous without one, or when it expired,
/// ended or belongs to a key that was revoked (or a configured admin key that changed). A
/// failure is the error page to answer with, logged.
pub async fn visitor(state: &AppState, req: &Request) -> Result<Visitor, Response> {
    let Some(token) = cookie(req, SESSION_COOKIE).and_then(Token::parse) else {
        return Ok(Visitor::anonymous());
    };
    let stored = sessions::find(&state.pool, &token.digest())
        .await
        .map_err(|e| database_error("looking up a session", e))?;
    let principal = match stored {
        Some(Stored {
            key_id: Some(id), ..
        }) => match state.auth.key_principal(id).await {
            Ok(principal) => principal,
            Err(KeyDbError::Sql(e)) => return Err(database_error("reading a session's key", e)),
            Err(other) => {
                tracing::error!(error = %other, "reading a session's key");
                return Err(server_error());
            }
        },
        Some(Stored {
            admin_binding: Some(binding),
            ..
        }) => {
            digests_match(&binding, &state.auth.admin_binding(&token)).then_some(Principal::Admin)
        }
        _ => None,
    };
    Ok(match principal {
        Some(principal) => Visitor {
            principal,
            session: Some(token),
        },
        None => Visitor::anonymous(),
    })
}

/// The visitor posting a form, if the request carries a live session and the form carries
/// that session's CSRF token; otherwise the 403 page, and nothing may change.
pub async fn form_poster(
    state: &AppState,
    req: &Request,
    csrf: Option<&str>,
) -> Result<Visitor, Response> {
    let visitor = visitor(state, req).await?;
    if visitor.csrf_ok(csrf) {
        Ok(visitor)
    } else {
        tracing::info!(
            signed_in = visitor.signed_in(),
            "form refused: CSRF token missing or wrong"
        );
        Err(forged_form())
    }
}

/// The signed-in visitor of a page that needs one; otherwise a redirect to the sign-in page.
pub async fn signed_in(state: &AppState, req: &Request) -> Result<Visitor, Response> {
    let visitor = visitor(state, req).await?;
    if visitor.signed_in() {
        Ok(visitor)
    } else {
        Err(Redirect::see_other("/login").into_response())
    }
}

/// The value of the cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|line| cookie_in(line, name))
}

fn cookie_in<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then(|| value.trim_matches('"'))
    })
}

/// A `Set-Cookie` value: never readable by scripts, sent on top-level navigation from other
/// sites (links) but not with their forms (`SameSite=Lax`), `Secure` when the server is
/// reached over TLS (`behind_tls`). `max_age_secs` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_lax_and_secure_behind_tls() {
        assert_eq!(
            set_cookie(SESSION_COOKIE, "abc", "/", 43200, false),
            "rieter_session=abc; Path=/; Max-Age=43200; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            set_cookie(SESSION_COOKIE, "", "/", 0, true),
            "rieter_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let line = "a=1; rieter_session_old=x; rieter_session=\"tok\"; b=2";
        assert_eq!(cookie_in(line, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie_in(line, "b"), Some("2"));
        assert_eq!(cookie_in(line, "rieter"), None);
        assert_eq!(cookie_in("", SESSION_COOKIE), None);
        let req = Request::builder()
            .header(header::COOKIE, "x=1")
            .header(header::COOKIE, "rieter_login=abc")
            .finish();
        assert_eq!(cookie(&req, LOGIN_COOKIE), Some("abc"));
        assert_eq!(cookie(&req, SESSION_COOKIE), None);
    }

    #[test]
    fn forms_without_a_session_never_pass() {
        let visitor = Visitor::anonymous();
        assert!(!visitor.csrf_ok(Some("")));
        assert!(!visitor.csrf_ok(None));
        assert_eq!(visitor.csrf(), "");
        let token = Token::generate().unwrap();
        let signed_in = Visitor {
            principal: Principal::Admin,
            session: Some(token.clone()),
        };
        assert!(signed_in.csrf_ok(Some(&token.csrf())));
        assert!(!signed_in.csrf_ok(Some(token.expose())));
        assert!(!signed_in.csrf_ok(None));
    }
}
