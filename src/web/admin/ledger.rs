//! `GET /admin/ledger`: the same report as `crowdlend verify`, and what the
//! platform's own wallets and all user wallets hold.

use actix_web::{HttpResponse, web::Data};
use askama::Template;

use crate::{
    db::queries::wallet as queries,
    domain::money::Currency,
    format,
    ledger::verify::{self, Check},
    state::AppState,
    web::{
        error::WebError,
        layout::{BaseCtx, page},
    },
};

struct WalletLine {
    name: String,
    balance: String,
}

#[derive(Template)]
#[template(path = "admin/ledger.html")]
struct LedgerPage {
    base: BaseCtx,
    holds: bool,
    entries: i64,
    checks: Vec<Check>,
    wallets: Vec<WalletLine>,
}

fn show_money(minor: i64, currency: &str) -> String {
    Currency::parse(currency).map_or_else(
        || format!("{minor} (minor units, {currency})"),
        |c| format::money(minor, c),
    )
}

fn wallet_label(kind: &str) -> &'static str {
    match kind {
        "settlement" => "Settlement (money in the platform's nominal account)",
        "fees" => "Fees earned",
        "reserve_fund" => "Reserve fund",
        _ => "Other platform wallet",
    }
}

impl LedgerPage {
    fn entries_checked(&self) -> String {
        match self.entries {
            1 => "1 ledger entry".to_owned(),
            n => format!("{n} ledger entries"),
        }
    }
}

pub async fn show(base: BaseCtx, state: Data<AppState>) -> Result<HttpResponse, WebError> {
    let report = verify::verify(&state.db).await?;
    let mut wallets: Vec<WalletLine> = queries::platform_wallets(&state.db)
        .await?
        .into_iter()
        .map(|wallet| WalletLine {
            name: format!("{} · {}", wallet_label(&wallet.kind), wallet.currency),
            balance: show_money(wallet.balance, &wallet.currency),
        })
        .collect();
    wallets.extend(
        queries::user_wallet_totals(&state.db)
            .await?
            .into_iter()
            .map(|(currency, total)| WalletLine {
                name: format!("All user wallets · {currency}"),
                balance: show_money(total, &currency),
            }),
    );
    page(&LedgerPage {
        base,
        holds: report.holds(),
        entries: report.entries,
        checks: report.checks,
        wallets,
    })
}
