//! `job_runs`: every pass of a named job is recorded (its business day, when
//! it started and ended, how many items it processed, and how it ended), so
//! staff see at `/admin/jobs` what ran and what failed.

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};

use crate::{clock::Clock, db::entities::job_runs, error::AppError};

/// Runs `pass` as job `name` for the clock's day, recording the run. The
/// pass returns how many items it processed.
///
/// # Errors
/// The pass's own error (recorded as the run's), or a database failure
/// recording it.
pub async fn recorded<Fut>(
    db: &DatabaseConnection,
    name: &str,
    clock: &dyn Clock,
    pass: Fut,
) -> Result<u32, AppError>
where
    Fut: Future<Output = Result<u32, AppError>>,
{
    let day: NaiveDate = clock.today();
    let id = uuid::Uuid::now_v7();
    job_runs::ActiveModel {
        id: Set(id),
        name: Set(name.to_owned()),
        business_date: Set(day),
        started_at: Set(clock.now()),
        finished_at: Set(None),
        items: Set(0),
        outcome: Set("running".to_owned()),
        error: Set(None),
    }
    .insert(db)
    .await?;
    let result = pass.await;
    let (outcome, items, error) = match &result {
        Ok(items) => ("succeeded", *items, None),
        Err(err) => ("failed", 0, Some(format!("{err:#}"))),
    };
    job_runs::ActiveModel {
        id: Set(id),
        finished_at: Set(Some(clock.now())),
        items: Set(i32::try_from(items).unwrap_or(i32::MAX)),
        outcome: Set(outcome.to_owned()),
        error: Set(error),
        ..Default::default()
    }
    .update(db)
    .await?;
    result
}

/// As [`recorded`], for a pass that also says what it did; returns that.
///
/// # Errors
/// As [`recorded`].
pub async fn recorded_with_summary<Fut>(
    db: &DatabaseConnection,
    name: &str,
    clock: &dyn Clock,
    pass: Fut,
) -> Result<String, AppError>
where
    Fut: Future<Output = Result<(u32, String), AppError>>,
{
    let mut summary = String::new();
    recorded(db, name, clock, async {
        let (items, said) = pass.await?;
        summary = said;
        Ok(items)
    })
    .await?;
    Ok(summary)
}
