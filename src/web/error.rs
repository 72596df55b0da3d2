//! How failures reach the browser. Handlers and middleware return `WebError`;
//! the `error_pages` middleware turns every 4xx/5xx that is not already a page
//! into the rendered `error.html`, with the user's navigation and, for a 500,
//! a request id to quote. Internal details only go to the log.

use actix_session::{Session, SessionExt};
use actix_web::{
    Error, HttpMessage, HttpResponse, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    error::InternalError,
    http::{StatusCode, header},
    middleware::Next,
};
use askama::Template;

use crate::{
    domain::{error::DomainError, user::KycStatus},
    error::AppError,
    web::{
        layout::BaseCtx,
        observe::RequestId,
        session::{self},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("sign-in required")]
    LoginRequired { next: String },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    #[error("CSRF token missing or invalid")]
    CsrfRejected,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("too many requests: {0}")]
    TooManyRequests(String),
    #[error("changed meanwhile")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What the error page says, attached to the response by `WebError`.
#[derive(Debug, Clone)]
struct PublicMessage(String);

impl From<AppError> for WebError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Validation(errors) => Self::Unprocessable(
                errors
                    .iter()
                    .map(|(_, message)| message)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            AppError::Domain(reason) => Self::Unprocessable(refusal(&reason)),
            AppError::Conflict => Self::Conflict,
            AppError::NotFound => Self::NotFound,
            AppError::Forbidden => Self::Forbidden,
            AppError::Unexpected(err) => Self::Unexpected(err),
        }
    }
}

/// A refusal in words, with what to do about it where there is something.
#[must_use]
pub fn refusal(reason: &DomainError) -> String {
    match reason {
        DomainError::IllegalTransition(illegal) => illegal.to_string(),
        DomainError::IdentityNotVerified => {
            "Your identity must be verified before you invest. Send your details from Account → Identity check."
                .to_owned()
        }
        DomainError::RiskDeclarationNotAccepted => {
            "Before your first investment, read and accept the risk declaration on your investor profile."
                .to_owned()
        }
        DomainError::LoanNotOpen => "This loan is no longer open for investment.".to_owned(),
        DomainError::LoanAtPlatformRate => {
            "This loan is funded at the platform's rate: invest in it from its page instead of making an offer."
                .to_owned()
        }
        DomainError::LoanTakesOffers => {
            "The borrower takes lenders' offers for this loan: make an offer for the whole loan from its page instead."
                .to_owned()
        }
        DomainError::AlreadyListed => {
            "This investment is on sale already: withdraw that listing first to list it differently."
                .to_owned()
        }
        DomainError::ListingClosed => {
            "This listing is no longer on sale: it was sold or withdrawn, or its loan is overdue or has ended."
                .to_owned()
        }
        DomainError::OwnListing => "This is your own listing: you cannot buy it.".to_owned(),
        DomainError::OfferClosed => {
            "This offer is no longer waiting for the borrower: it was accepted, declined, withdrawn or has expired."
                .to_owned()
        }
        DomainError::FundingClosed => "Funding for this loan has closed.".to_owned(),
        DomainError::InvestmentNotChangeable => {
            "This investment can no longer be changed: it is not a reservation any more.".to_owned()
        }
        DomainError::FundingOver => {
            "The loan is no longer open for funding, so the investment can no longer be changed."
                .to_owned()
        }
        DomainError::NotPayable { status } => format!(
            "Only a fully funded loan can be paid out; this one is \"{}\".",
            status.label().to_lowercase()
        ),
        DomainError::NotRepaying { status } => format!(
            "Only a loan being repaid takes payments; this one is \"{}\".",
            status.label().to_lowercase()
        ),
        DomainError::BorrowerNotVerified => {
            "The borrower's identity is not verified yet, and the platform requires it before a loan is listed. Review their identity first."
                .to_owned()
        }
        DomainError::ProfileMissing => "Fill in your profile first: the scorecard needs it.".to_owned(),
        DomainError::ApplicationOpen => {
            "You already have an application in progress. Withdraw it or wait for it to finish before applying again."
                .to_owned()
        }
        DomainError::IdentityNotAwaitingReview { status } => match status {
            KycStatus::None => {
                "This person has not sent identity details, so there is nothing to decide yet."
            }
            KycStatus::Verified => {
                "This identity check has already been decided: the person is verified. Only details waiting for review can be decided."
            }
            KycStatus::Rejected => {
                "This identity check has already been decided: the details were rejected. The person can send corrected details, which come back for review."
            }
            KycStatus::Pending => "This identity check is waiting for review.",
        }
        .to_owned(),
        DomainError::BankAccountUsed => {
            "Money has moved through this account, so it is kept for your records.".to_owned()
        }
        DomainError::AgreementAltered => {
            "This agreement failed its integrity check, so it cannot be downloaded. Our staff have been alerted."
                .to_owned()
        }
        DomainError::EmailNotFailed { state } => format!(
            "Only a failed email can be retried; this one is \u{201c}{}\u{201d}.",
            state.label().to_lowercase()
        ),
        DomainError::SubmissionKeyMissing => {
            "This form is missing its submission key. Reload the page and try again.".to_owned()
        }
        DomainError::SubmissionKeyReused => {
            "This form was already submitted with different values. Reload the page and try again."
                .to_owned()
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(err: askama::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(err).context("template rendering failed"))
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden | Self::CsrfRejected => StatusCode::FORBIDDEN,
            Self::LoginRequired { .. } => StatusCode::SEE_OTHER,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Conflict => StatusCode::CONFLICT,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::LoginRequired { next } = self {
            let location = format!(
                "/login?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        let message = match self {
            Self::CsrfRejected => {
                "This form has expired or did not come from this site. Go back, reload the page and try again."
                    .to_owned()
            }
            Self::BadRequest(message)
            | Self::Unprocessable(message)
            | Self::TooManyRequests(message) => message.clone(),
            _ => default_message(self.status_code()).to_owned(),
        };
        let mut response = HttpResponse::build(self.status_code()).finish();
        response.extensions_mut().insert(PublicMessage(message));
        response
    }
}

fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request could not be understood. Check what you entered and try again.",
        403 => "You do not have access to this page.",
        404 => "We could not find that page. It may have moved, or the address may be mistyped.",
        405 => "That action is not available here.",
        409 => {
            "What you were looking at changed at the same moment. Reload the page and try again."
        }
        413 => "What you sent is too large.",
        415 => "This form was sent in a format the site does not accept.",
        422 => "Some of what you entered could not be accepted.",
        429 => "Too many requests. Wait a few minutes and try again.",
        503 => "The service is temporarily unavailable. Try again in a moment.",
        _ if status.is_server_error() => {
            "Something went wrong on our side. Nothing was changed. Try again in a moment."
        }
        _ => "The request could not be completed.",
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    base: BaseCtx,
    status: u16,
    title: &'static str,
    message: String,
    request_id: Option<String>,
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad request",
        403 => "Access denied",
        404 => "Page not found",
        405 => "Not allowed",
        409 => "Changed meanwhile",
        413 => "Too large",
        415 => "Unsupported format",
        422 => "Could not accept that",
        429 => "Slow down",
        _ if status.is_server_error() => "Something went wrong",
        _ => "Request failed",
    }
}

/// Middleware: renders every error response that is not already a page.
pub async fn error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // Routing needs the request unshared, so take what the page needs now
    // instead of cloning the request.
    let session = req.get_session();
    let path = req.path().to_owned();
    let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
    // Machine endpoints answer in plain text whatever happens.
    let machine_endpoint = matches!(path.as_str(), "/healthz" | "/metrics");

    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(err) => {
            // An error no handler turned into a response (rare: a broken
            // connection, an internal actix failure).
            let status = err.as_response_error().status_code();
            log_server_error(status, request_id.as_deref(), &format!("{err:?}"));
            let page = render_error_page(
                &session,
                &path,
                status,
                default_message(status).to_owned(),
                request_id,
            );
            return Err(InternalError::from_response(err, page).into());
        }
    };
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || is_html(&res) || machine_endpoint
    {
        return Ok(res);
    }
    if let Some(err) = res.response().error() {
        log_server_error(status, request_id.as_deref(), &format!("{err:?}"));
    }
    let message = res
        .response()
        .extensions()
        .get::<PublicMessage>()
        .map_or_else(|| default_message(status).to_owned(), |m| m.0.clone());
    let mut page = render_error_page(&session, &path, status, message, request_id);
    let (http_req, old) = res.into_parts();
    // Keep headers the handler chose (e.g. Allow on 405, Location, Retry-After).
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(http_req, page))
}

fn log_server_error(status: StatusCode, request_id: Option<&str>, detail: &str) {
    if status.is_server_error() {
        tracing::error!(
            request_id = request_id.unwrap_or("-"),
            error = detail,
            "request failed"
        );
    }
}

fn is_html(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"))
}

fn render_error_page(
    session: &Session,
    path: &str,
    status: StatusCode,
    message: String,
    request_id: Option<String>,
) -> HttpResponse {
    let base = BaseCtx {
        user: session::current_user(session),
        flashes: Vec::new(),
        csrf_token: session::existing_csrf_token(session).unwrap_or_default(),
        path: path.to_owned(),
    };
    let page = ErrorPage {
        base,
        status: status.as_u16(),
        title: title(status),
        message,
        request_id: request_id.filter(|_| status.is_server_error()),
    };
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(err) => {
            tracing::error!(error = %err, "the error page itself failed to render");
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(title(status))
        }
    }
}
