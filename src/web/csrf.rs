//! CSRF protection: every request that may change state must carry, in its
//! form body, the `csrf_token` of the caller. Checked here for every route, so
//! no handler can forget it; without a valid token the answer is 403 and
//! nothing runs.
//!
//! A signed-in visitor's token is the synchronizer token in their session. A
//! visitor without a session (the sign-in and registration forms) gets a
//! signed double-submit token instead: a random value with its expiry, kept
//! in a cookie signed with a key of its own and repeated in the form. The
//! form is accepted when both agree, the signature holds and the time has not
//! passed, so showing a form to a visitor writes nothing on the server.

use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::{
    Error, HttpMessage, HttpRequest, ResponseError,
    body::{BoxBody, MessageBody},
    cookie::{Cookie, CookieJar, Key, SameSite, time::Duration as CookieDuration},
    dev::{ServiceRequest, ServiceResponse},
    http::{Method, header::HeaderValue, header::SET_COOKIE},
    middleware::Next,
    web::{BytesMut, Data},
};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::{
    clock::SharedClock,
    config::Settings,
    web::{error::WebError, session},
};

/// The largest form body accepted (ASVS 12.1.1); larger ones get 413.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

pub const FIELD: &str = "csrf_token";

/// How long a visitor's form token is accepted.
const ANONYMOUS_LIFETIME: TimeDelta = TimeDelta::hours(4);
/// A form shown with less than this left on the token gets a new one, so a
/// form being filled in does not expire under the visitor's hands.
const RENEW_WITHIN: TimeDelta = TimeDelta::hours(1);

/// Makes and checks the tokens of visitors without a session; built once
/// from the settings and shared as app data.
#[derive(Clone)]
pub struct AnonymousTokens {
    key: Key,
    cookie_name: &'static str,
    secure: bool,
    clock: SharedClock,
}

/// A token made for this response, which [`verify_csrf`] sets as the cookie.
#[derive(Clone)]
struct IssuedToken(Arc<str>);

impl AnonymousTokens {
    /// The cookie is `Secure` and `__Host-` prefixed when the site is served
    /// over https (no other host can set it), like the session cookie.
    #[must_use]
    pub fn from_settings(settings: &Settings, clock: SharedClock) -> Self {
        let secure = settings.cookies_secure();
        Self {
            key: Key::derive_from(&settings.secret_key.derive("anonymous csrf")),
            cookie_name: if secure {
                "__Host-crowdlend_csrf"
            } else {
                "crowdlend_csrf"
            },
            secure,
            clock,
        }
    }

    /// `<random hex>.<expiry, Unix seconds>`.
    fn mint(&self, now: DateTime<Utc>) -> String {
        let mut nonce = [0_u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        format!(
            "{}.{}",
            hex::encode(nonce),
            (now + ANONYMOUS_LIFETIME).timestamp()
        )
    }

    /// The request's token and its expiry, when its cookie is validly signed
    /// and the token has not expired.
    fn in_request(&self, req: &HttpRequest) -> Option<(String, DateTime<Utc>)> {
        let cookie = req.cookie(self.cookie_name)?;
        let verified = CookieJar::new().signed(&self.key).verify(cookie)?;
        let token = verified.value().to_owned();
        let expires = token
            .rsplit_once('.')
            .and_then(|(_, at)| at.parse::<i64>().ok())
            .and_then(|at| DateTime::from_timestamp(at, 0))?;
        (expires > self.clock.now()).then_some((token, expires))
    }

    fn cookie(&self, token: &str) -> Option<Cookie<'static>> {
        let cookie = Cookie::build(self.cookie_name, token.to_owned())
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(CookieDuration::seconds(ANONYMOUS_LIFETIME.num_seconds()))
            .finish();
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key).add(cookie);
        jar.get(self.cookie_name).cloned()
    }
}

/// The token a form on this page carries: the session's, or for a visitor
/// whose session has none the one in their anonymous cookie (a new one, set
/// on the response, when it is missing or about to expire).
#[must_use]
pub fn form_token(req: &HttpRequest) -> String {
    if let Some(token) = session::existing_csrf_token(&req.get_session()) {
        return token;
    }
    let Some(tokens) = req.app_data::<Data<AnonymousTokens>>() else {
        return String::new();
    };
    if let Some(IssuedToken(token)) = req.extensions().get::<IssuedToken>() {
        return token.to_string();
    }
    let now = tokens.clock.now();
    if let Some((token, expires)) = tokens.in_request(req)
        && expires - now > RENEW_WITHIN
    {
        return token;
    }
    let token = tokens.mint(now);
    req.extensions_mut()
        .insert(IssuedToken(Arc::from(token.as_str())));
    token
}

/// The token a form from this caller must carry, if any can be valid.
fn expected_token(req: &HttpRequest) -> Option<String> {
    session::existing_csrf_token(&req.get_session()).or_else(|| {
        req.app_data::<Data<AnonymousTokens>>()
            .and_then(|tokens| tokens.in_request(req))
            .map(|(token, _)| token)
    })
}

pub async fn verify_csrf(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.call(req).await.map(with_issued_cookie);
    }
    if req.content_type() != "application/x-www-form-urlencoded" {
        return Ok(req.into_response(WebError::UnsupportedMediaType.error_response()));
    }

    let mut body = BytesMut::new();
    let mut payload = req.take_payload();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return Ok(req.into_response(
                WebError::BadRequest("The form could not be read.".into()).error_response(),
            ));
        };
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Ok(req.into_response(WebError::PayloadTooLarge.error_response()));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();

    let sent: Vec<String> = url::form_urlencoded::parse(&body)
        .filter(|(key, _)| key == FIELD)
        .map(|(_, value)| value.into_owned())
        .collect();
    let valid = match (expected_token(req.request()), sent.as_slice()) {
        (Some(expected), [sent]) => bool::from(expected.as_bytes().ct_eq(sent.as_bytes())),
        _ => false,
    };
    if !valid {
        tracing::warn!(path = %req.path(), "request refused: missing or invalid CSRF token");
        return Ok(req.into_response(WebError::CsrfRejected.error_response()));
    }

    let (_, mut replay) = actix_http::h1::Payload::create(true);
    replay.unread_data(body);
    req.set_payload(replay.into());
    next.call(req).await.map(with_issued_cookie)
}

/// Sets the cookie of a token [`form_token`] made while answering.
fn with_issued_cookie(
    res: ServiceResponse<impl MessageBody + 'static>,
) -> ServiceResponse<BoxBody> {
    let mut res = res.map_into_boxed_body();
    let issued = res.request().extensions().get::<IssuedToken>().cloned();
    let cookie = issued.and_then(|IssuedToken(token)| {
        res.request()
            .app_data::<Data<AnonymousTokens>>()
            .and_then(|tokens| tokens.cookie(&token))
    });
    if let Some(value) = cookie.and_then(|c| HeaderValue::from_str(&c.to_string()).ok()) {
        res.headers_mut().append(SET_COOKIE, value);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, FixedClock};
    use actix_web::test::TestRequest;
    use chrono::TimeZone;

    fn tokens(clock: &FixedClock, base_url: &str) -> AnonymousTokens {
        let (settings, _) = Settings::from_lookup(|name| match name {
            "SECRET_KEY" => Some("k".repeat(64)),
            "BASE_URL" => Some(base_url.to_owned()),
            "DATA_DIR" => Some(std::env::temp_dir().to_string_lossy().into_owned()),
            _ => None,
        })
        .unwrap();
        AnonymousTokens::from_settings(&settings, Arc::new(clock.clone()))
    }

    fn clock() -> FixedClock {
        FixedClock::at(Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap())
    }

    fn request_with(cookie: Cookie<'static>) -> HttpRequest {
        TestRequest::default().cookie(cookie).to_http_request()
    }

    #[test]
    fn a_signed_token_is_read_back_until_it_expires() {
        let clock = clock();
        let tokens = tokens(&clock, "http://localhost:8080");
        let token = tokens.mint(clock.now());
        let req = request_with(tokens.cookie(&token).unwrap());
        assert_eq!(tokens.in_request(&req).map(|(t, _)| t), Some(token));

        clock.advance(ANONYMOUS_LIFETIME);
        assert_eq!(tokens.in_request(&req), None, "expired at its time");
    }

    #[test]
    fn an_unsigned_altered_or_foreign_token_is_refused() {
        let clock = clock();
        let tokens = tokens(&clock, "http://localhost:8080");
        let token = tokens.mint(clock.now());

        let unsigned = Cookie::new("crowdlend_csrf", token.clone());
        assert_eq!(tokens.in_request(&request_with(unsigned)), None);

        let signed = tokens.cookie(&token).unwrap().value().to_owned();
        let later = format!("{}{}", &signed[..signed.len() - 1], "9");
        let altered = Cookie::new("crowdlend_csrf", later);
        assert_eq!(tokens.in_request(&request_with(altered)), None);

        // Signed with the session cookie's key, not this one: refused.
        let session_key = Key::derive_from("k".repeat(64).as_bytes());
        let mut jar = CookieJar::new();
        jar.signed_mut(&session_key)
            .add(Cookie::new("crowdlend_csrf", token));
        let foreign = jar.get("crowdlend_csrf").cloned().unwrap();
        assert_eq!(tokens.in_request(&request_with(foreign)), None);
    }

    #[test]
    fn over_https_the_cookie_is_host_prefixed_secure_and_http_only() {
        let clock = clock();
        let tokens = tokens(&clock, "https://lend.example");
        let cookie = tokens.cookie(&tokens.mint(clock.now())).unwrap();
        assert_eq!(cookie.name(), "__Host-crowdlend_csrf");
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.path(), Some("/"));
    }
}
