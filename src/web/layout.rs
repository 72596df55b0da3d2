//! What every page shares: the user for the navigation, flash messages, the
//! CSRF token for forms, and the one way to send a rendered page.

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, http::StatusCode};
use askama::Template;
use std::future::{Ready, ready};

use crate::{
    domain::user::Role,
    error::FieldErrors,
    paths,
    web::{
        csrf,
        error::WebError,
        session::{self, Flash, SessionUser},
    },
};

/// Embedded in every page struct as `base`.
#[derive(Debug, Clone)]
pub struct BaseCtx {
    pub user: Option<SessionUser>,
    pub flashes: Vec<Flash>,
    pub csrf_token: String,
    pub path: String,
}

impl BaseCtx {
    /// For pages with a form shown to visitors without a session (sign-in,
    /// registration): the form carries an anonymous token when the session
    /// has none (see [`csrf`]).
    #[must_use]
    pub fn with_form(mut self, req: &HttpRequest) -> Self {
        self.csrf_token = csrf::form_token(req);
        self
    }

    #[must_use]
    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|user| user.role)
    }

    #[must_use]
    pub fn is(&self, role: &str) -> bool {
        self.role().is_some_and(|r| r.as_str() == role)
    }

    #[must_use]
    pub fn is_staff(&self) -> bool {
        self.role().is_some_and(Role::is_staff)
    }

    /// `aria-current="page"` for the navigation link of the current area.
    #[must_use]
    pub fn current(&self, prefix: &str) -> &'static str {
        let here = self.path.as_str();
        // An area's home ("/", "/investor") is current only on itself and
        // its pages that have no navigation link of their own.
        let matches = if prefix == "/" {
            here == "/"
        } else if prefix == "/investor"
            && (here.starts_with("/investor/investments") || here.starts_with(paths::AUTO_INVEST))
        {
            false
        } else {
            here == prefix || here.starts_with(&format!("{prefix}/"))
        };
        if matches { "page" } else { "false" }
    }
}

impl FromRequest for BaseCtx {
    type Error = WebError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        ready(Ok(Self {
            user: session::current_user(&session),
            flashes: session::take_flashes(&session),
            csrf_token: session::existing_csrf_token(&session).unwrap_or_default(),
            path: req.path().to_owned(),
        }))
    }
}

/// Renders a page with the given status (200 for pages, 422 for a form with errors).
///
/// # Errors
/// When the template fails to render.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, WebError> {
    // Room for a whole page at once: askama's own hint counts only the
    // templates' fixed text, and growing past it copies the page each time.
    let mut html = String::with_capacity(T::SIZE_HINT.max(PAGE_CAPACITY));
    page.render_into(&mut html)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// A list page of twenty lines is 12-16 KB.
const PAGE_CAPACITY: usize = 16 * 1024;

/// 200 for a form page shown clean, 422 when it comes back with errors.
#[must_use]
pub fn form_status(errors: &FieldErrors) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// Renders a page with status 200.
///
/// # Errors
/// When the template fails to render.
pub fn page(page: &impl Template) -> Result<HttpResponse, WebError> {
    render(StatusCode::OK, page)
}

/// 303 See Other: the answer to every successful POST.
#[must_use]
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}
