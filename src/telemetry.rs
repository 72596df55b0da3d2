//! Structured logs with `tracing`: one subscriber, configured once per process.

use std::fmt;

use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    EnvFilter,
    fmt::MakeWriter,
    layer::{Context, Layer, SubscriberExt},
};

/// Builds the subscriber. `RUST_LOG` overrides `default_filter`.
pub fn get_subscriber<Sink>(default_filter: &str, sink: Sink) -> impl Subscriber + Send + Sync
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    tracing_subscriber::registry()
        .with(filter)
        .with(UnreadableRequestsAsWarnings)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(sink)
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .compact(),
        )
}

/// Installs the subscriber for the whole process; a second call is ignored.
pub fn init_subscriber(subscriber: impl Subscriber + Send + Sync) {
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// actix-http answers a request it cannot parse (a URI longer than 64 KiB, a
/// head too large, a malformed request line) with a 4xx, then logs the
/// parse error at ERROR. That is the client's mistake, and an ERROR line
/// pages someone: this layer drops the event and logs it again at WARN.
struct UnreadableRequestsAsWarnings;

const PARSE_ERROR: &str = "stream error: request parse error";

impl<S: Subscriber> Layer<S> for UnreadableRequestsAsWarnings {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let metadata = event.metadata();
        if *metadata.level() != Level::ERROR || !metadata.target().starts_with("actix_http::") {
            return true;
        }
        let mut message = Message::default();
        event.record(&mut message);
        let Some(detail) = message.0.strip_prefix(PARSE_ERROR) else {
            return true;
        };
        tracing::warn!(
            error = detail.trim_start_matches([':', ' ']),
            "refused a request that could not be read"
        );
        false
    }
}

/// The `message` field of an event, as text.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}
