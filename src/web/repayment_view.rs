//! A paid-out loan's repayment as its pages show it (the borrower's loan
//! page and staff's): what is owed now, the next payment, the payoff today,
//! the quick amounts to pay, penalties day by day, the payments received
//! and the schedules a prepayment replaced.

use crate::{
    domain::{
        installment::InstallmentStatus, lifecycle::LoanStatus, money::Money, repayment::Allocation,
    },
    format,
    services::repayment::{Overview, Plan},
};

/// An amount as the pay form takes it ("1234.56").
#[must_use]
pub fn input(amount: Money) -> String {
    amount.amount().to_string()
}

/// A ready amount to pay, one click from the loan page.
pub struct QuickPay {
    pub label: &'static str,
    pub amount: String,
    pub amount_input: String,
    pub payoff: bool,
}

pub struct PenaltyLine {
    pub on: String,
    pub number: String,
    pub kind: &'static str,
    pub base: String,
    pub amount: String,
}

pub struct PaymentView {
    pub paid_on: String,
    pub kind: &'static str,
    pub amount: String,
    pub penalty: String,
    pub interest: String,
    pub principal: String,
    pub reserve_repaid: String,
}

pub struct VersionRow {
    pub number: u32,
    pub due_date: String,
    pub principal: String,
    pub interest: String,
    pub total: String,
}

pub struct VersionView {
    pub version: i32,
    pub replaced_at: String,
    pub rows: Vec<VersionRow>,
}

pub struct ClaimView {
    pub at_default: String,
    pub recovered: String,
    pub remaining: String,
}

/// The repayment section of a loan page.
pub struct RepaymentView {
    /// Shown to staff (the borrower's wallet, no pay buttons).
    pub staff: bool,
    pub takes_payments: bool,
    pub defaulted: bool,
    pub owed_now: Option<String>,
    pub overdue: bool,
    pub penalties_owed: Option<String>,
    pub next_due: Option<(String, String)>,
    pub payoff: Option<String>,
    pub available: String,
    pub quick: Vec<QuickPay>,
    pub claim: Option<ClaimView>,
    pub penalties: Vec<PenaltyLine>,
    pub payments: Vec<PaymentView>,
    pub versions: Vec<VersionView>,
}

/// Money as shown, or nothing for zero.
fn shown(amount: Money) -> String {
    if amount.is_zero() {
        String::new()
    } else {
        amount.to_string()
    }
}

impl RepaymentView {
    #[must_use]
    pub fn new(overview: &Overview) -> Self {
        let account = &overview.account;
        let quote = &account.quote;
        let loan = &account.loan;
        let owed = quote.owed.total().ok().filter(|m| m.is_positive());
        let active = loan.status == LoanStatus::Active;
        let mut quick = Vec::new();
        if active {
            if let Some(owed) = owed {
                quick.push(QuickPay {
                    label: "Pay what is due now",
                    amount: owed.to_string(),
                    amount_input: input(owed),
                    payoff: false,
                });
            }
            if quote.next_installment.is_some()
                && let Ok(through) = quote.through_next_installment()
                && through != quote.payoff
            {
                quick.push(QuickPay {
                    label: if owed.is_some() {
                        "Pay what is due and the next installment"
                    } else {
                        "Pay the next installment now"
                    },
                    amount: through.to_string(),
                    amount_input: input(through),
                    payoff: false,
                });
            }
            quick.push(QuickPay {
                label: "Pay off the whole loan today",
                amount: quote.payoff.to_string(),
                amount_input: input(quote.payoff),
                payoff: true,
            });
        }
        if let Some(claim) = overview.claim.filter(|c| c.remaining.is_positive()) {
            quick.push(QuickPay {
                label: "Pay the whole debt",
                amount: claim.remaining.to_string(),
                amount_input: input(claim.remaining),
                payoff: true,
            });
        }
        let next_due = account
            .installments
            .iter()
            .find(|row| InstallmentStatus::UNPAID.contains(&row.status) && active)
            .and_then(|row| {
                let left = row
                    .total()
                    .ok()?
                    .checked_sub(row.paid_principal)
                    .ok()?
                    .checked_sub(row.paid_interest)
                    .ok()?;
                Some((format::day(row.due_date), left.to_string()))
            });
        let number_of = |id| {
            account
                .installments
                .iter()
                .find(|row| row.id == id)
                .map_or_else(String::new, |row| row.number.to_string())
        };
        Self {
            staff: false,
            takes_payments: active || overview.claim.is_some_and(|c| c.remaining.is_positive()),
            defaulted: loan.status == LoanStatus::Defaulted,
            owed_now: owed.filter(|_| active).map(|m| m.to_string()),
            overdue: account
                .installments
                .iter()
                .any(|row| row.status == InstallmentStatus::Overdue),
            penalties_owed: Some(quote.owed.penalties)
                .filter(|m| m.is_positive() && active)
                .map(|m| m.to_string()),
            next_due,
            payoff: active.then(|| quote.payoff.to_string()),
            available: overview.available.to_string(),
            quick,
            claim: overview.claim.map(|c| ClaimView {
                at_default: c.at_default.to_string(),
                recovered: c.recovered.to_string(),
                remaining: c.remaining.to_string(),
            }),
            penalties: overview
                .penalties
                .iter()
                .map(|charged| PenaltyLine {
                    on: format::day(charged.accrual.on),
                    number: number_of(charged.installment),
                    kind: charged.accrual.kind.label(),
                    base: charged.accrual.base.to_string(),
                    amount: charged.accrual.amount.to_string(),
                })
                .collect(),
            payments: overview
                .payments
                .iter()
                .map(|p| PaymentView {
                    paid_on: format::day(p.paid_on),
                    kind: p.kind.label(),
                    amount: p.amount.to_string(),
                    penalty: shown(p.penalty),
                    interest: shown(p.interest),
                    principal: shown(
                        p.principal
                            .checked_add(p.prepaid_principal)
                            .unwrap_or(p.principal),
                    ),
                    reserve_repaid: shown(p.reserve_repaid),
                })
                .collect(),
            versions: overview
                .versions
                .iter()
                .map(|v| VersionView {
                    version: v.version,
                    replaced_at: format::datetime(&v.replaced_at),
                    rows: v
                        .rows
                        .iter()
                        .map(|row| {
                            let money = |minor| format::money(minor, loan.currency());
                            VersionRow {
                                number: row.number,
                                due_date: format::day(row.due_date),
                                principal: money(row.principal),
                                interest: money(row.interest),
                                total: money(row.principal + row.interest),
                            }
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl RepaymentView {
    /// As staff see it.
    #[must_use]
    pub fn for_staff(mut self) -> Self {
        self.staff = true;
        self.quick.clear();
        self
    }
}

/// One line of a payment's confirmation: where part of it goes.
pub struct PlanLine {
    pub label: &'static str,
    pub amount: String,
}

/// The lines of `plan`, in the allocation order; zero parts left out.
#[must_use]
pub fn plan_lines(plan: &Plan) -> Vec<PlanLine> {
    let lines: Vec<(&'static str, Money)> = match plan {
        Plan::Installments(Allocation { parts, .. }) => vec![
            ("Penalties", parts.penalties),
            ("Overdue interest", parts.overdue_interest),
            ("Overdue principal", parts.overdue_principal),
            ("Interest now due", parts.current_interest),
            ("Principal now due", parts.current_principal),
            ("Principal paid ahead (prepayment)", parts.prepayment),
        ],
        Plan::Recovery {
            to_reserve,
            to_investors,
            ..
        } => vec![
            (
                "Back to the reserve fund, for what it paid investors",
                *to_reserve,
            ),
            ("To the investors", *to_investors),
        ],
    };
    lines
        .into_iter()
        .filter(|(_, amount)| amount.is_positive())
        .map(|(label, amount)| PlanLine {
            label,
            amount: amount.to_string(),
        })
        .collect()
}
