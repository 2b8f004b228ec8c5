//! Failed sign-ins per account name, shared by every instance through the database.
//!
//! After `MAX_FAILURES` failures within `WINDOW`, the name is locked for `LOCK`; the check is
//! the same for existing and unknown names, so the answer reveals nothing about accounts.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{sea_query::OnConflict, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use crate::entities::login_throttle;

pub const MAX_FAILURES: i32 = 5;
pub const WINDOW: Duration = Duration::minutes(15);
pub const LOCK: Duration = Duration::minutes(15);

/// `Some(until)` while the name is locked.
pub async fn locked_until(
    db: &impl ConnectionTrait,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let row = login_throttle::Entity::find_by_id(key.to_owned()).one(db).await?;
    Ok(row.and_then(|r| r.locked_until).filter(|until| *until > now))
}

/// Records a failure; returns the lock's end when this failure locks the name.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let row = login_throttle::Entity::find_by_id(key.to_owned()).one(db).await?;
    let (failures, window_start) = match row {
        Some(r) if now - r.window_start < WINDOW => (r.failures + 1, r.window_start),
        _ => (1, now),
    };
    let locked = (failures >= MAX_FAILURES).then_some(now + LOCK);
    let (failures, window_start) = if locked.is_some() { (0, now) } else { (failures, window_start) };
    login_throttle::Entity::insert(login_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(failures),
        window_start: Set(window_start),
        locked_until: Set(locked),
    })
    .on_conflict(
        OnConflict::column(login_throttle::Column::Key)
            .update_columns([
                login_throttle::Column::Failures,
                login_throttle::Column::WindowStart,
                login_throttle::Column::LockedUntil,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(locked)
}

/// Forgets the failures after a good sign-in.
pub async fn reset(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    login_throttle::Entity::delete_by_id(key.to_owned()).exec(db).await?;
    Ok(())
}
