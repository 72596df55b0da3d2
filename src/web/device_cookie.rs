//! Device cookies (OWASP's "Slow down online guessing attacks with device
//! cookies"): after a successful sign-in the browser keeps a signed cookie
//! naming the account's device row (`services::auth` says what a known device
//! may do). One cookie per account, named after it, so several accounts
//! signed in from one browser each keep theirs. The value is the device id,
//! signed with a key derived from `SECRET_KEY` for this purpose only (not the
//! session cookie's key, so neither cookie's value is accepted as the other).
//! The cookie outlives sign-out: it says the browser has signed in before,
//! not that anyone is signed in now.

use crate::domain::ids::UserId;
use std::future::{Ready, ready};

use actix_web::{
    FromRequest, HttpRequest, HttpResponse,
    cookie::{Cookie, CookieJar, Key, SameSite, time::Duration},
    dev::Payload,
    web::Data,
};
use uuid::Uuid;

use crate::{config::Settings, services::auth::DEVICE_REMEMBERED_DAYS, web::error::WebError};

/// At most this many device cookies of one request are looked up (a browser
/// signed in to more accounts than this is an oddity, not a use case).
const MAX_DEVICES_READ: usize = 20;

/// Signs and reads device cookies; built once from the settings and shared
/// with the handlers as app data.
#[derive(Clone)]
pub struct DeviceCookies {
    key: Key,
    name_prefix: &'static str,
    secure: bool,
}

impl DeviceCookies {
    /// Cookies are `Secure` and `__Host-` prefixed when the site is served
    /// over https, like the session cookie.
    #[must_use]
    pub fn from_settings(settings: &Settings) -> Self {
        let secure = settings.cookies_secure();
        Self {
            key: Key::derive_from(&settings.secret_key.derive("device cookies")),
            name_prefix: if secure {
                "__Host-crowdlend_device_"
            } else {
                "crowdlend_device_"
            },
            secure,
        }
    }

    fn name_for(&self, user_id: UserId) -> String {
        format!("{}{}", self.name_prefix, user_id.as_uuid().simple())
    }

    /// The signed cookie that tells later requests this browser is the
    /// account's device `device_id`.
    #[must_use]
    pub fn cookie_for(&self, user_id: UserId, device_id: Uuid) -> Option<Cookie<'static>> {
        let name = self.name_for(user_id);
        let cookie = Cookie::build(name.clone(), device_id.simple().to_string())
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(Duration::days(DEVICE_REMEMBERED_DAYS))
            .finish();
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key).add(cookie);
        jar.get(&name).cloned()
    }

    /// Adds the device cookie to a response.
    ///
    /// # Errors
    /// When the cookie cannot be written as a header.
    pub fn remember(
        &self,
        response: &mut HttpResponse,
        user_id: UserId,
        device_id: Uuid,
    ) -> Result<(), WebError> {
        let failed = |err: String| WebError::Unexpected(anyhow::anyhow!("device cookie: {err}"));
        let cookie = self
            .cookie_for(user_id, device_id)
            .ok_or_else(|| failed("not signed".to_owned()))?;
        response
            .add_cookie(&cookie)
            .map_err(|err| failed(err.to_string()))
    }

    /// The device ids of the request's validly signed device cookies; forged,
    /// altered or unreadable ones are ignored.
    #[must_use]
    pub fn known_devices(&self, req: &HttpRequest) -> Vec<Uuid> {
        let Ok(cookies) = req.cookies() else {
            return Vec::new();
        };
        let jar = CookieJar::new();
        let verifier = jar.signed(&self.key);
        cookies
            .iter()
            .filter(|cookie| cookie.name().starts_with(self.name_prefix))
            .filter_map(|cookie| verifier.verify(cookie.clone()))
            .filter_map(|cookie| Uuid::try_parse(cookie.value()).ok())
            .take(MAX_DEVICES_READ)
            .collect()
    }
}

/// The devices this browser proves it signed in from (its validly signed
/// device cookies), for `services::auth::authenticate`.
#[derive(Debug, Clone, Default)]
pub struct KnownDevices(pub Vec<Uuid>);

impl FromRequest for KnownDevices {
    type Error = WebError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let devices = req
            .app_data::<Data<DeviceCookies>>()
            .map(|cookies| cookies.known_devices(req))
            .unwrap_or_default();
        ready(Ok(KnownDevices(devices)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(base_url: &str) -> DeviceCookies {
        let vars = [
            ("SECRET_KEY", "k".repeat(64)),
            ("BASE_URL", base_url.to_owned()),
            (
                "DATA_DIR",
                std::env::temp_dir().to_string_lossy().into_owned(),
            ),
        ];
        let (settings, _) = Settings::from_lookup(|name| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| value.clone())
        })
        .unwrap();
        DeviceCookies::from_settings(&settings)
    }

    fn request_with(cookie: &Cookie<'_>) -> HttpRequest {
        actix_web::test::TestRequest::default()
            .cookie(Cookie::new(
                cookie.name().to_owned(),
                cookie.value().to_owned(),
            ))
            .to_http_request()
    }

    #[test]
    fn a_device_cookie_is_read_back_and_a_tampered_one_is_not() {
        let cookies = cookies("http://127.0.0.1:8080");
        let (user, device) = (UserId::new(), Uuid::new_v4());
        let cookie = cookies.cookie_for(user, device).unwrap();
        assert_eq!(
            cookie.name(),
            format!("crowdlend_device_{}", user.as_uuid().simple())
        );
        assert_eq!(cookies.known_devices(&request_with(&cookie)), vec![device]);

        let mut tampered = cookie.clone();
        let value = cookie.value().replace(
            &device.simple().to_string(),
            &Uuid::new_v4().simple().to_string(),
        );
        tampered.set_value(value);
        assert!(cookies.known_devices(&request_with(&tampered)).is_empty());

        let unsigned = Cookie::new(cookie.name().to_owned(), device.simple().to_string());
        assert!(cookies.known_devices(&request_with(&unsigned)).is_empty());
    }

    #[test]
    fn a_session_style_signature_does_not_make_a_device_cookie() {
        // Signed with the session cookie's key (derived from SECRET_KEY directly).
        let session_key = Key::derive_from("k".repeat(64).as_bytes());
        let device = Uuid::new_v4();
        let mut jar = CookieJar::new();
        jar.signed_mut(&session_key).add(Cookie::new(
            format!("crowdlend_device_{}", Uuid::new_v4().simple()),
            device.simple().to_string(),
        ));
        let cookie = jar.delta().next().cloned().unwrap();
        let cookies = cookies("http://127.0.0.1:8080");
        assert!(cookies.known_devices(&request_with(&cookie)).is_empty());
    }

    #[test]
    fn over_https_the_cookie_is_secure_host_prefixed_and_long_lived() {
        let cookies = cookies("https://lend.example");
        let cookie = cookies.cookie_for(UserId::new(), Uuid::new_v4()).unwrap();
        assert!(cookie.name().starts_with("__Host-crowdlend_device_"));
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.max_age(), Some(Duration::days(180)));
    }
}
