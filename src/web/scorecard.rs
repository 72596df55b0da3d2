//! The scorecard as pages show it, to the borrower in plain words and to
//! staff in full: one view for both, so they never read different figures.

use crate::{
    db::queries::applications::{ScoringView, StoredFactor},
    domain::money::Currency,
    format,
};

/// One factor line.
pub struct FactorLine {
    pub name: String,
    pub input: String,
    pub points: u32,
    pub max_points: u32,
}

pub struct ScorecardView {
    pub score: i32,
    pub grade: String,
    pub suggested_rate: String,
    pub max_amount: String,
    pub max_term_months: i32,
    pub new_installment: String,
    pub model_version: String,
    pub computed_at: String,
    pub factors: Vec<FactorLine>,
    pub failures: Vec<String>,
    pub improvements: Vec<String>,
    /// Plain sentences: what the score means, strongest and weakest factor.
    pub summary: Vec<String>,
}

fn share(factor: &StoredFactor) -> u32 {
    (factor.points * 100)
        .checked_div(factor.max_points)
        .unwrap_or(0)
        .min(100)
}

impl ScorecardView {
    #[must_use]
    pub fn new(card: &ScoringView, currency: Currency) -> Self {
        let mut summary = Vec::new();
        if card.failures.is_empty() {
            summary.push(format!(
                "The application scored {} of 1000 points: grade {}. At this score the scorecard suggests {} a year; grade {} may borrow up to {} for at most {} months.",
                card.score,
                card.grade,
                format::rate(card.suggested_rate_bps),
                card.grade,
                format::money(card.max_amount, currency),
                card.max_term_months
            ));
        } else {
            summary.push(format!(
                "The platform's rules decline this application, whatever its score ({} of 1000, grade {}): {}",
                card.score,
                card.grade,
                card.failures
                    .iter()
                    .map(|f| f.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        let ranked = {
            let mut factors: Vec<&StoredFactor> =
                card.factors.iter().filter(|f| f.max_points > 0).collect();
            factors.sort_by_key(|f| (share(f), f.max_points));
            factors
        };
        if let (Some(weakest), Some(strongest)) = (ranked.first(), ranked.last()) {
            summary.push(format!(
                "Strongest: {} ({}, {} of {} points). Weakest: {} ({}, {} of {} points).",
                strongest.name.to_lowercase(),
                strongest.input,
                strongest.points,
                strongest.max_points,
                weakest.name.to_lowercase(),
                weakest.input,
                weakest.points,
                weakest.max_points
            ));
        }
        Self {
            score: card.score,
            grade: card.grade.clone(),
            suggested_rate: format::rate(card.suggested_rate_bps),
            max_amount: format::money(card.max_amount, currency),
            max_term_months: card.max_term_months,
            new_installment: format::money(card.new_installment, currency),
            model_version: card.model_version.clone(),
            computed_at: format::datetime(&card.computed_at),
            factors: card
                .factors
                .iter()
                .map(|f| FactorLine {
                    name: f.name.clone(),
                    input: f.input.clone(),
                    points: f.points,
                    max_points: f.max_points,
                })
                .collect(),
            failures: card.failures.iter().map(|f| f.message.clone()).collect(),
            improvements: card.improvements.iter().map(|i| i.text.clone()).collect(),
            summary,
        }
    }
}
