//! `GET/POST /login` and `POST /logout`: signing in to the pages with an API key, and out.
//!
//! The sign-in form is paired with the browser that asked for it by a random token in a
//! short-lived cookie (`rieter_login`) that the form repeats: a page on another site can make
//! a browser post the form, but cannot read or set that cookie, so it cannot sign a visitor in
//! with a key of its choosing. A successful sign-in starts a new session (a fresh token, so
//! one planted before cannot be taken over) and ends the one the browser had.

use askama::Template;
use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use rieter::db::sessions::{self, Owner};
use rieter::sessions::{LIFETIME_SECS, Token};
use serde::Deserialize;

use super::page::{Layout, database_error, forged_form, render_with_status, server_error};
use super::session::{
    CsrfForm, LOGIN_COOKIE, LOGIN_FORM_SECS, SESSION_COOKIE, Visitor, cookie, form_poster,
    set_cookie, visitor,
};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    login_token: String,
    failed: bool,
    signed_in_as: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    login: String,
}

#[handler]
pub async fn show_login(state: Data<&AppState>, req: &Request) -> Response {
    let visitor = match visitor(&state, req).await {
        Ok(visitor) => visitor,
        Err(page) => return page,
    };
    // The pairing token of an earlier visit is kept, so two open tabs both work.
    let token = match cookie(req, LOGIN_COOKIE).and_then(Token::parse) {
        Some(token) => token,
        None => match fresh_token("generating a sign-in token") {
            Some(token) => token,
            None => return server_error(),
        },
    };
    login_page(&state, &visitor, &token, false, StatusCode::OK)
}

fn login_page(
    state: &AppState,
    visitor: &Visitor,
    token: &Token,
    failed: bool,
    status: StatusCode,
) -> Response {
    let mut resp = render_with_status(
        &LoginPage {
            layout: Layout::for_visitor(visitor),
            login_token: token.expose().to_owned(),
            failed,
            signed_in_as: visitor.describe(),
        },
        status,
    );
    set_header(
        &mut resp,
        &set_cookie(
            LOGIN_COOKIE,
            token.expose(),
            "/login",
            LOGIN_FORM_SECS,
            state.config.behind_tls,
        ),
    );
    resp
}

/// A new random token; `None` (logged) if the operating system's CSPRNG failed.
fn fresh_token(context: &str) -> Option<Token> {
    Token::generate()
        .inspect_err(|err| tracing::error!(error = %err, "{context}"))
        .ok()
}

fn set_header(resp: &mut Response, cookie: &str) {
    if let Ok(value) = cookie.parse() {
        resp.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[handler]
pub async fn sign_in(
    state: Data<&AppState>,
    req: &Request,
    Form(form): Form<LoginForm>,
) -> Response {
    let Some(pairing) = cookie(req, LOGIN_COOKIE).and_then(Token::parse) else {
        return forged_form();
    };
    if !pairing.matches(&form.login) {
        return forged_form();
    }
    let previous = match visitor(&state, req).await {
        Ok(visitor) => visitor,
        Err(page) => return page,
    };
    let principal = match state.auth.identify(&form.key).await {
        Ok(principal) => principal,
        // Which part of the key was wrong is not said.
        Err(ApiError::Unauthorized(..)) => {
            tracing::info!("web sign-in refused");
            return login_page(&state, &previous, &pairing, true, StatusCode::OK);
        }
        Err(ApiError::Unavailable(..)) => return super::page::unavailable(),
        Err(_) => return server_error(),
    };
    let Some(session) = fresh_token("generating a session token") else {
        return server_error();
    };
    let binding;
    let owner = match &principal {
        Principal::Key { id, .. } => Owner::Key(*id),
        Principal::Admin => {
            binding = state.auth.admin_binding(&session);
            Owner::Admin { binding: &binding }
        }
        Principal::Anonymous => return server_error(),
    };
    if let Err(err) = sessions::create(&state.pool, &session.digest(), owner, LIFETIME_SECS).await {
        return database_error("starting a session", err);
    }
    if let Some(old) = &previous.session
        && let Err(err) = sessions::delete(&state.pool, &old.digest()).await
    {
        return database_error("ending the previous session", err);
    }
    let actor = principal.actor();
    tracing::info!(
        actor.kind = actor.as_ref().map(|a| a.kind().as_str()),
        actor.prefix = actor.as_ref().and_then(|a| a.prefix()),
        "web sign-in"
    );
    let secure = state.config.behind_tls;
    let mut resp = Redirect::see_other("/admin").into_response();
    set_header(
        &mut resp,
        &set_cookie(SESSION_COOKIE, session.expose(), "/", LIFETIME_SECS, secure),
    );
    set_header(
        &mut resp,
        &set_cookie(LOGIN_COOKIE, "", "/login", 0, secure),
    );
    resp
}

#[handler]
pub async fn sign_out(
    state: Data<&AppState>,
    req: &Request,
    Form(form): Form<CsrfForm>,
) -> Response {
    let visitor = match form_poster(&state, req, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(page) => return page,
    };
    if let Some(session) = &visitor.session
        && let Err(err) = sessions::delete(&state.pool, &session.digest()).await
    {
        return database_error("ending a session", err);
    }
    let mut resp = Redirect::see_other("/").into_response();
    set_header(
        &mut resp,
        &set_cookie(SESSION_COOKIE, "", "/", 0, state.config.behind_tls),
    );
    resp
}
