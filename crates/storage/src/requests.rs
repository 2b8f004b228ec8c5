//! Requests (quesiti): creation with their protocol number, the archive query, and their
//! history, comments and attachments.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Alias, Expr, ExprTrait, JoinType, LikeExpr, OnConflict, Query, SimpleExpr, UnionType},
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use cassetto_migration::m20261128_000011_subject_fts_pending::PENDING as FTS_PENDING;

use crate::batch::Batch;
use crate::entities::{attachment, comment, delega, idempotency_key, protocol_counter, request, request_history};
use crate::subject_words::FTS;

/// A progressive of the protocol register, and the registry's version when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbered {
    pub progressive: i64,
    /// The registry's version (see `registry_cache`) read by the same statement, inside the
    /// creating transaction: a write that relied on the registry as of an earlier version
    /// finds out here whether anything changed since.
    pub registry_version: i64,
}

/// Takes the next progressive of the protocol register of `sede` for `year`, with the
/// registry's version in the same round trip.
///
/// Call it as the first write of the creating transaction: the counter row stays locked until
/// commit, so numbers are unique and, since a rolled-back transaction also rolls back its
/// increment, gapless — on PostgreSQL across instances too.
pub async fn next_protocol_number(db: &impl ConnectionTrait, sede: &str, year: i32) -> Result<Numbered, DbErr> {
    let version = Expr::cust("(SELECT version FROM registry_version WHERE id = 1)");
    let stmt = Query::insert()
        .into_table(protocol_counter::Entity)
        .columns([
            protocol_counter::Column::SedeCode,
            protocol_counter::Column::Year,
            protocol_counter::Column::LastValue,
        ])
        .values_panic([sede.into(), year.into(), 1i64.into()])
        .on_conflict(
            OnConflict::columns([protocol_counter::Column::SedeCode, protocol_counter::Column::Year])
                .value(
                    protocol_counter::Column::LastValue,
                    Expr::col((protocol_counter::Entity, protocol_counter::Column::LastValue)).add(1),
                )
                .to_owned(),
        )
        .returning(Query::returning().exprs([Expr::col(protocol_counter::Column::LastValue), version]))
        .to_owned();
    let row = db.query_one(&stmt).await?.ok_or_else(|| DbErr::Custom("protocol counter returned nothing".into()))?;
    Ok(Numbered { progressive: row.try_get_by_index::<i64>(0)?, registry_version: row.try_get_by_index::<i64>(1)? })
}

pub struct NewAttachment {
    pub name: String,
    pub size: i64,
    pub content_type: String,
    pub sha256: String,
}

/// Inserts a request with its attachments and first history entry.
pub async fn insert(
    db: &impl ConnectionTrait,
    row: request::Model,
    attachments: Vec<NewAttachment>,
    first: request_history::Model,
) -> Result<(), DbErr> {
    let mut batch = Batch::new(db.get_database_backend());
    insert_into(&mut batch, row, attachments, first);
    batch.run(db).await
}

/// Adds to `batch` the inserts of a request with its attachments and first history entry.
pub fn insert_into(
    batch: &mut Batch,
    row: request::Model,
    attachments: Vec<NewAttachment>,
    first: request_history::Model,
) {
    let backend = batch.backend();
    let id = row.id.clone();
    batch.push(request::Entity::insert(request::ActiveModel::from(row)).build(backend));
    if !attachments.is_empty() {
        let rows = attachments.into_iter().enumerate().map(|(i, a)| attachment::ActiveModel {
            request_id: Set(id.clone()),
            position: Set(i as i32),
            name: Set(a.name),
            size: Set(a.size),
            content_type: Set(a.content_type),
            sha256: Set(a.sha256),
            ..Default::default()
        });
        batch.push(attachment::Entity::insert_many(rows).build(backend));
    }
    batch.push(history_insert(first).build(backend));
}

fn history_insert(entry: request_history::Model) -> sea_orm::Insert<request_history::ActiveModel> {
    let mut am = request_history::ActiveModel::from(entry);
    am.id = sea_orm::ActiveValue::NotSet;
    request_history::Entity::insert(am)
}

pub async fn add_history(db: &impl ConnectionTrait, entry: request_history::Model) -> Result<(), DbErr> {
    history_insert(entry).exec_without_returning(db).await?;
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: &str) -> Result<Option<request::Model>, DbErr> {
    request::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn attachments_of(db: &impl ConnectionTrait, id: &str) -> Result<Vec<attachment::Model>, DbErr> {
    attachment::Entity::find()
        .filter(attachment::Column::RequestId.eq(id))
        .order_by_asc(attachment::Column::Position)
        .all(db)
        .await
}

pub async fn history_of(db: &impl ConnectionTrait, id: &str) -> Result<Vec<request_history::Model>, DbErr> {
    request_history::Entity::find()
        .filter(request_history::Column::RequestId.eq(id))
        .order_by_asc(request_history::Column::Id)
        .all(db)
        .await
}

/// The comments of a request, oldest first; internal ones only when asked.
pub async fn comments_of(
    db: &impl ConnectionTrait,
    id: &str,
    with_internal: bool,
) -> Result<Vec<comment::Model>, DbErr> {
    let mut q = comment::Entity::find().filter(comment::Column::RequestId.eq(id));
    if !with_internal {
        q = q.filter(comment::Column::Internal.eq(false));
    }
    q.order_by_asc(comment::Column::Id).all(db).await
}

pub async fn insert_comment(db: &impl ConnectionTrait, c: comment::Model) -> Result<comment::Model, DbErr> {
    let mut am = comment::ActiveModel::from(c);
    am.id = sea_orm::ActiveValue::NotSet;
    comment::Entity::insert(am).exec_with_returning(db).await
}

/// Marks a change: bumps `version` and `updated_at` if the row is still at `expected_version`.
/// Returns false when another change got there first.
pub async fn touch(
    db: &impl ConnectionTrait,
    id: &str,
    expected_version: i32,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = request::Entity::update_many()
        .col_expr(request::Column::Version, Expr::col(request::Column::Version).add(1))
        .col_expr(request::Column::UpdatedAt, Expr::value(now))
        .filter(request::Column::Id.eq(id))
        .filter(request::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

// ---- idempotency ----

pub async fn idempotency_get(
    db: &impl ConnectionTrait,
    user_id: i32,
    key: &str,
) -> Result<Option<idempotency_key::Model>, DbErr> {
    idempotency_key::Entity::find_by_id((user_id, key.to_owned())).one(db).await
}

/// Adds to `batch` the insert of an idempotency key with its stored answer.
pub fn idempotency_put_into(batch: &mut Batch, row: idempotency_key::Model) {
    let backend = batch.backend();
    batch.push(idempotency_key::Entity::insert(idempotency_key::ActiveModel::from(row)).build(backend));
}

// ---- archive ----

/// Which rows a caller may see at all.
#[derive(Debug, Clone)]
pub enum Scope {
    /// The requests of these matricole.
    Matricole(Vec<String>),
    /// Senders: the requests of the matricole the user holds (its own or by delega), read in
    /// the same statement; with how many those are (see [`Holding`]).
    DelegatedTo(i32, Holding),
    /// An operatore: the quesiti of its sede.
    Sede(String),
    /// Supervisore and admin.
    All,
}

/// How many matricole a sender holds, and how many the registry has: the sender's expected
/// share of the archive, if its matricole send as often as the others. A sender holding a
/// large share finds a page sooner by reading the whole archive in the sort's order and
/// keeping its own requests than by reading all of its own and sorting them (see
/// [`walk_bound`]). `Holding::default()` (nothing known) never walks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holding {
    pub matricole: u64,
    pub of: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    UpdatedAt,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// The archive's filters, already parsed and validated. Dates are inclusive bounds turned into
/// half-open instants by the caller.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub matricola: Option<String>,
    /// Lower-cased; matched anywhere in the subject.
    pub subject: Option<String>,
    pub statuses: Vec<String>,
    pub ambito: Option<String>,
    pub protocollo: Option<String>,
    pub sede: Option<String>,
    /// `Some(None)`: not assigned; `Some(Some(id))`: assigned to that user.
    pub assigned: Option<Option<i32>>,
    pub opened_from: Option<DateTime<Utc>>,
    pub opened_before: Option<DateTime<Utc>>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_before: Option<DateTime<Utc>>,
}

impl Filters {
    /// True when nothing but the subject, the statuses and the assignment is filtered.
    fn only_queue_filters(&self) -> bool {
        self.matricola.is_none()
            && self.ambito.is_none()
            && self.protocollo.is_none()
            && self.sede.is_none()
            && self.opened_from.is_none()
            && self.opened_before.is_none()
            && self.updated_from.is_none()
            && self.updated_before.is_none()
    }

    /// True for the queue nobody has taken in charge: not assigned, and nothing else filtered but
    /// statuses and the subject.
    fn is_unassigned_queue(&self) -> bool {
        self.assigned == Some(None) && self.only_queue_filters()
    }

    /// True when nothing but the subject is filtered.
    fn only_subject(&self) -> bool {
        self.statuses.is_empty() && self.assigned.is_none() && self.only_queue_filters()
    }
}

/// Where the previous page stopped.
#[derive(Debug, Clone)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: String,
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The scope and every filter but the subject's, as one condition.
fn condition(scope: &Scope, f: &Filters) -> Condition {
    use request::Column as C;
    let mut cond = Condition::all();
    match scope {
        Scope::Matricole(list) => cond = cond.add(C::Matricola.is_in(list.clone())),
        Scope::DelegatedTo(user, _) => {
            cond = cond.add(
                C::Matricola.in_subquery(
                    Query::select()
                        .column(delega::Column::Matricola)
                        .from(delega::Entity)
                        .and_where(Expr::col(delega::Column::UserId).eq(*user))
                        .to_owned(),
                ),
            )
        }
        Scope::Sede(s) => cond = cond.add(C::SedeCode.eq(s.clone())),
        Scope::All => {}
    }
    if let Some(m) = &f.matricola {
        cond = cond.add(C::Matricola.eq(m.clone()));
    }
    if !f.statuses.is_empty() {
        cond = cond.add(C::Status.is_in(f.statuses.clone()));
    }
    if let Some(a) = &f.ambito {
        cond = cond.add(C::AmbitoCode.eq(a.clone()));
    }
    if let Some(p) = &f.protocollo {
        cond = cond.add(C::Protocollo.eq(p.clone()));
    }
    if let Some(s) = &f.sede {
        cond = cond.add(C::SedeCode.eq(s.clone()));
    }
    match f.assigned {
        Some(None) => cond = cond.add(C::AssignedTo.is_null()),
        Some(Some(id)) => cond = cond.add(C::AssignedTo.eq(id)),
        None => {}
    }
    if let Some(t) = f.opened_from {
        cond = cond.add(C::CreatedAt.gte(t));
    }
    if let Some(t) = f.opened_before {
        cond = cond.add(C::CreatedAt.lt(t));
    }
    if let Some(t) = f.updated_from {
        cond = cond.add(C::UpdatedAt.gte(t));
    }
    if let Some(t) = f.updated_before {
        cond = cond.add(C::UpdatedAt.lt(t));
    }
    cond
}

/// `subject_search LIKE '%needle%'`, with LIKE's wildcards in the needle taken literally.
fn subject_like(needle: &str) -> SimpleExpr {
    Expr::col((request::Entity, request::Column::SubjectSearch))
        .like(LikeExpr::new(format!("%{}%", escape_like(needle))).escape('\\'))
}

/// `strpos(subject_search, needle) > 0`: the same test as [`subject_like`] (both sides are
/// lower-cased), which no trigram index can answer.
fn subject_strpos(needle: &str) -> SimpleExpr {
    Expr::cust_with_values("strpos(\"requests\".\"subject_search\", $1) > 0", [needle.to_owned()])
}

/// `total` is counted exactly up to this many rows; past it the page says «more than».
pub const COUNT_CAP: u64 = 10_000;
/// The same when the subject is searched: a word found in many subjects is counted up to here.
pub const SUBJECT_COUNT_CAP: u64 = 1_000;
/// Across every sede, a subject needle with at most this many matches is looked up by id.
const FEW_MATCHES: u64 = SUBJECT_COUNT_CAP;

/// SQLite: the ids (`request_id`) of requests whose subject holds `needle` (no wildcard in
/// it), from the trigram table and from the queue of subjects not moved into it yet
/// (migration 11). Read in one statement, one snapshot: a request is met once, whichever side
/// it is on. `LIKE` on the queue is case-insensitive for ASCII letters like the trigram table's.
fn subject_matches(needle: &str) -> sea_orm::sea_query::SelectStatement {
    let pattern = format!("%{needle}%");
    let like = |table: &str| {
        Query::select()
            .column(Alias::new("request_id"))
            .from(Alias::new(table))
            .and_where(Expr::cust_with_values("subject_search LIKE ?", [pattern.clone()]))
            .to_owned()
    };
    like(FTS).union(UnionType::All, like(FTS_PENDING)).to_owned()
}

/// With a common needle, other filters leaving at most this many rows are checked row by row
/// (one pass over a covering index: about 8 ms for 100,000 entries on the bench machine).
const FEW_ROWS: u64 = 100_000;

/// How the subject filter is answered.
enum SubjectPlan {
    None,
    /// `LIKE` on the rows of the scope (covering indexes hold the subject: no row is read).
    Like(String),
    /// PostgreSQL, a sender's matricole (an azienda's or an intermediario's): the needle is
    /// checked with `strpos()`, which no index answers, on the rows the scope's (or the
    /// period's) indexes give. With `LIKE` the planner may read the trigram index instead —
    /// every request of the archive holding the word — and its estimate of how many that is
    /// comes from a sample of 100 subjects: a common word the sample misses is taken for rare
    /// (a million requests, the intermediario's «assegno», 25,000 matches: 150–290 ms against
    /// 13 ms so; with a status and a period, p99 54–105 ms against 18 ms; docs/BENCHMARKS.md).
    /// Used when another filter is given besides the needle, or when the word counts find the
    /// needle in more than [`FEW_MATCHES`] requests; a rarer needle alone keeps `LIKE`, whose
    /// index reads its few matches faster than the scope's rows. Also one sede's requests, or
    /// every sede's with other filters (see [`subject_plan`]), with such a common needle
    /// (`sorted: false`: the filters' indexes are read in the sort's order).
    /// `sorted`: the needle alone — the scope's rows are read through its indexes and sorted
    /// (a sender's matricole hold a bounded share of the archive), instead of walking the
    /// archive in date order until 20 of them hold the word (1 % of the archive and a word of
    /// 2.5 %: 80,000 entries, 21–66 ms against 12–19 ms).
    Scan {
        needle: String,
        sorted: bool,
    },
    /// SQLite, every sede, a needle found in few subjects: those requests by id.
    Ids(Vec<String>),
    /// Every sede, a needle found in more than [`FEW_MATCHES`] subjects (a word the word counts
    /// hold for more; on SQLite also any needle the trigram table has more matches for): the
    /// page is read in the sort order's index (an ordered scan meets matches early) — SQLite with `LIKE`,
    /// PostgreSQL with `strpos()`, which no index answers, so that the planner does not read
    /// every match through the trigram index and sort them (there: the needle alone, or the
    /// queue nobody has taken in charge). The count: nothing more to count when the needle is
    /// the only filter; on SQLite with other filters, one pass over the rows they leave when
    /// they are few, the trigram table otherwise — or, the queue nobody has taken in charge,
    /// read until the cap's matches; on PostgreSQL, the queue's rows up to the cap.
    Common(String),
}

async fn subject_plan(
    db: &impl ConnectionTrait,
    scope: &Scope,
    filters: &Filters,
    sort: Sort,
) -> Result<SubjectPlan, DbErr> {
    let Some(needle) = filters.subject.as_deref() else { return Ok(SubjectPlan::None) };
    let indexable = !needle.contains(['%', '_', '\\']) && needle.chars().count() >= 3;
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    if postgres && matches!(scope, Scope::DelegatedTo(..) | Scope::Matricole(_)) {
        let alone = filters.only_subject();
        let scan = !alone || (indexable && crate::subject_words::requests_with(db, needle).await? > FEW_MATCHES);
        let needle = needle.to_owned();
        return Ok(if scan { SubjectPlan::Scan { needle, sorted: alone } } else { SubjectPlan::Like(needle) });
    }
    // PostgreSQL, one sede's requests (an operatore's, or every sede's filtered by one) and a
    // word the word counts find in more than FEW_MATCHES requests: `strpos()`, which no index
    // answers, on the rows the sede's indexes give (its covering index holds the subject), read
    // in the sort's order. With `LIKE` the planner may read the trigram index instead — every
    // request of the archive holding the word, then the sede's among them — whenever the
    // sample behind its statistics missed the word: after a fresh load of the bench's million
    // requests, «aliquota» in a sede of 10,000, 87–130 ms against 2–3 ms
    // (docs/BENCHMARKS.md, twenty-first round). A rarer word keeps `LIKE`, whose trigram index
    // reads its few matches.
    //
    // The same for every sede's requests with other filters than the queue's and no period of
    // the date the page is not sorted by (an ambito, a status, a matricola; a period of the
    // sort's own date): the page walks the sort's index (or the status's, in the same order)
    // until 20 hold the word, the count reads the filters' covering index until more than the
    // cap do. With `LIKE` and a word the sample missed, the planner reads every match through
    // the trigram index and sorts them: «aliquota» in one ambito, 108–138 ms, or in one status,
    // 122–150 ms, against 0.3–2 ms for the page with `strpos()` (twenty-second round). A period
    // of the other date keeps `LIKE`: walking the sort's index would wait for the period's
    // requests (an old month of opening, newest updated first: 65–158 ms).
    if postgres
        && indexable
        && (matches!(scope, Scope::Sede(_)) || filters.sede.is_some() || every_sede_filtered(scope, filters, sort))
        && crate::subject_words::requests_with(db, needle).await? > FEW_MATCHES
    {
        return Ok(SubjectPlan::Scan { needle: needle.to_owned(), sorted: false });
    }
    if !matches!(scope, Scope::All) || !indexable {
        return Ok(SubjectPlan::Like(needle.to_owned()));
    }
    if postgres {
        // Nothing but a word: the word counts (migration 10) hold more than FEW_MATCHES
        // requests for it, so that more than FEW_MATCHES subjects hold it — one read instead
        // of the trigram index's whole set of matches. The planner cannot tell that from its
        // statistics: a word none of its sampled subjects holds is taken for rare (100 rows)
        // and read through the trigram index, then sorted — every match, 25,000 rows of a
        // million for «tfr»: 270 ms instead of 1 ms.
        // The same for the queue nobody has taken in charge (a status or none, not assigned):
        // its pages and its count read the work-queue index whichever the test, and
        // `strpos()` tests an entry at half the cost of `LIKE` (the 55,000 open requests of a
        // million, «durc»: the count 22–25 ms with `LIKE`, 12.8 ms with `strpos()`).
        let queue = filters.is_unassigned_queue();
        let common =
            (filters.only_subject() || queue) && crate::subject_words::requests_with(db, needle).await? > FEW_MATCHES;
        return Ok(if common { SubjectPlan::Common(needle.to_owned()) } else { SubjectPlan::Like(needle.to_owned()) });
    }
    // A word the counts (migration 12) find in more than FEW_MATCHES requests: one read of a
    // row instead of the trigram table's first FEW_MATCHES + 1 matches (a common word at a
    // million requests: 3.6–17 ms). A rarer word, a part of one or a phrase: the trigram table
    // tells.
    if crate::subject_words::requests_with(db, needle).await? > FEW_MATCHES {
        return Ok(SubjectPlan::Common(needle.to_owned()));
    }
    let first = Query::select()
        .column(Alias::new("request_id"))
        .from_subquery(subject_matches(needle), Alias::new("matches"))
        .limit(FEW_MATCHES + 1)
        .to_owned();
    let ids: Vec<String> =
        db.query_all(&first).await?.iter().map(|r| r.try_get::<String>("", "request_id")).collect::<Result<_, _>>()?;
    Ok(if ids.len() as u64 > FEW_MATCHES { SubjectPlan::Common(needle.to_owned()) } else { SubjectPlan::Ids(ids) })
}

/// One page of the archive, the number of matching rows and whether that number is exact: it
/// is counted up to [`COUNT_CAP`] ([`SUBJECT_COUNT_CAP`] with a subject), so that counting
/// never costs more than reading that many index entries.
///
/// Keyset paging on (sort key, id): stable under concurrent inserts, no duplicates or gaps, and
/// as fast on page 1,000 as on page 1. The page is chosen on ids alone (the covering indexes
/// hold the scope, the sort key, the id and every filtered column), then only its rows are read.
pub async fn search(
    db: &impl ConnectionTrait,
    scope: &Scope,
    filters: &Filters,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: u64,
) -> Result<(Vec<request::Model>, u64, bool), DbErr> {
    if let Scope::Matricole(list) = scope {
        if list.is_empty() {
            return Ok((vec![], 0, true));
        }
    }
    let plan = subject_plan(db, scope, filters, sort).await?;
    let mut cond = condition(scope, filters);
    match &plan {
        SubjectPlan::None => {}
        SubjectPlan::Scan { needle, .. } => cond = cond.add(subject_strpos(needle)),
        SubjectPlan::Common(n) if db.get_database_backend() == DbBackend::Postgres => {
            cond = cond.add(subject_strpos(n))
        }
        SubjectPlan::Like(n) | SubjectPlan::Common(n) => cond = cond.add(subject_like(n)),
        SubjectPlan::Ids(ids) if ids.is_empty() => return Ok((vec![], 0, true)),
        SubjectPlan::Ids(ids) => cond = cond.add(request::Column::Id.is_in(ids.clone())),
    }
    let cap = if filters.subject.is_some() { SUBJECT_COUNT_CAP } else { COUNT_CAP };
    // The count and the page are independent reads: on a pool they run on two connections at
    // once (two cores), inside a transaction one after the other. A request sent between the
    // two may be counted and not listed, as it may between two pages.
    // PostgreSQL does not take `assigned_to IS NULL` as an equality when it reads an index in
    // order. Every sede's queue of one status, not assigned: ordered first by those two
    // columns — the same on every matching row, so the same order — it reads the work-queue
    // index (assigned_to, status, updated_at, id, …) backwards from the cursor and stops at
    // the page's end, instead of sorting every match (1,248 matches of 48,000 open requests:
    // 15.7 ms → 0.34 ms).
    let lead: &[request::Column] = if db.get_database_backend() == DbBackend::Postgres
        && matches!(scope, Scope::All)
        && filters.sede.is_none()
        && filters.assigned == Some(None)
        && filters.statuses.len() == 1
        && sort.key == SortKey::UpdatedAt
    {
        &[request::Column::AssignedTo, request::Column::Status]
    } else {
        &[]
    };
    // PostgreSQL, a period of opening with the latest updated first: the planner takes the
    // two dates for independent and reads the requests by last update, newest first, waiting
    // to meet 20 opened in the period — for an old period, most of the archive (a month of one
    // ambito in 2025: 88 ms). When the filters leave few rows (the count says so), they are
    // read through their own index and sorted (the same month: 4 ms); with many, the newest
    // updated are met early and the index order is kept.
    // (Across every sede: the intermediario's delegated matricole are best read by their own
    // indexes in order, 5 ms against 17 ms sorted.)
    if db.get_database_backend() == DbBackend::Postgres
        && matches!(scope, Scope::All)
        && sort.key == SortKey::UpdatedAt
        && (filters.opened_from.is_some() || filters.opened_before.is_some())
        && lead.is_empty()
    {
        let n = count_matches(db, scope, filters, &plan, &cond, cap).await?;
        let order = if n <= cap { PageOrder::Sorted } else { PageOrder::Index(&[]) };
        let items = page(db, cond, order, sort, cursor, limit).await?;
        let (total, exact) = capped(n, cap);
        return Ok((items, total, exact));
    }
    // Every sede, a common word and other filters: the sort's index is walked too, but a word
    // that seldom meets the filters (a word of one ambito's subjects, searched in another)
    // would have the walk read the whole archive, so it is bounded; past the bound the
    // filters' rows are read through their index and sorted (PostgreSQL is told to: `strpos()`
    // leaves its planner expecting a third of them to match). SQLite's planner read one
    // ambito's 143,000 requests and sorted their matches even for a word as common among them
    // as in the archive (36–41 ms where the walk takes 1–2 ms; twenty-second round).
    let walked = match walk_bound(scope, filters, &plan, sort, limit) {
        Some(entries) => Some((entries, PageOrder::Index(&[]))),
        None if every_sede_common(scope, filters, &plan, sort) => {
            let postgres = db.get_database_backend() == DbBackend::Postgres;
            Some((COMMON_WALK_ENTRIES, if postgres { PageOrder::Sorted } else { PageOrder::Index(&[]) }))
        }
        None => None,
    };
    if let Some((entries, fallback)) = walked {
        let (counted, walked) = tokio::join!(
            count_matches(db, scope, filters, &plan, &cond, cap),
            walk_page(db, cond.clone(), filters, sort, cursor, limit, entries)
        );
        let items = match walked? {
            Some(items) => items,
            None => page(db, cond, fallback, sort, cursor, limit).await?,
        };
        let (total, exact) = capped(counted?, cap);
        return Ok((items, total, exact));
    }
    let order = match plan {
        SubjectPlan::Scan { sorted: true, .. } => PageOrder::Sorted,
        _ => PageOrder::Index(lead),
    };
    let (counted, items) = tokio::join!(
        count_matches(db, scope, filters, &plan, &cond, cap),
        page(db, cond.clone(), order, sort, cursor, limit)
    );
    let (total, exact) = capped(counted?, cap);
    Ok((items?, total, exact))
}

/// `total` and whether it is exact, from a count of up to `cap + 1` rows.
fn capped(n: u64, cap: u64) -> (u64, bool) {
    if n > cap {
        (cap, false)
    } else {
        (n, true)
    }
}

/// The column a page is sorted by.
fn sort_column(sort: Sort) -> request::Column {
    match sort.key {
        SortKey::UpdatedAt => request::Column::UpdatedAt,
        SortKey::CreatedAt => request::Column::CreatedAt,
    }
}

/// The entries after the cursor in the sort's order: a row-value comparison, which both
/// backends read as a range of the (key, id) index.
fn after(sort: Sort, cursor: &Cursor) -> SimpleExpr {
    let col = sort_column(sort);
    let key = Expr::tuple([Expr::col((request::Entity, col)), Expr::col((request::Entity, request::Column::Id))]);
    let at = Expr::tuple([Expr::value(cursor.at), Expr::value(cursor.id.clone())]);
    if sort.descending {
        key.lt(at)
    } else {
        key.gt(at)
    }
}

/// The rows of a page's ids, in the sort's order.
async fn rows_of(
    db: &impl ConnectionTrait,
    ids: sea_orm::sea_query::SelectStatement,
    sort: Sort,
) -> Result<Vec<request::Model>, DbErr> {
    let order = if sort.descending { Order::Desc } else { Order::Asc };
    request::Entity::find()
        .filter(request::Column::Id.in_subquery(ids))
        .order_by(sort_column(sort), order.clone())
        .order_by(request::Column::Id, order)
        .all(db)
        .await
}

/// Index entries the walk of every sede's requests with a common word and other filters reads
/// at most: a word of 1.5 % of the archive in one ambito of seven meets 20 of them in about
/// 9,000 entries.
const COMMON_WALK_ENTRIES: u64 = 3 * WALK_ENTRIES;

/// Every sede's requests with a common word (see [`SubjectPlan::Common`] and, on PostgreSQL,
/// [`subject_plan`]'s `Scan`) and other filters that have no index of their own to give the
/// page: not the queue nobody has taken in charge, one sede, one matricola, a protocollo, one
/// assignee, one status sorted by the last update (migration 13's index gives that order), nor
/// a period of the date the page is not sorted by.
fn every_sede_common(scope: &Scope, filters: &Filters, plan: &SubjectPlan, sort: Sort) -> bool {
    every_sede_filtered(scope, filters, sort)
        && matches!(plan, SubjectPlan::Common(_) | SubjectPlan::Scan { sorted: false, .. })
        && !(filters.statuses.len() == 1 && sort.key == SortKey::UpdatedAt)
        && filters.sede.is_none()
        && filters.matricola.is_none()
        && filters.protocollo.is_none()
        && !matches!(filters.assigned, Some(Some(_)))
}

/// Every sede's requests with other filters besides the subject, but not the queue nobody has
/// taken in charge nor a period of the date the page is not sorted by.
fn every_sede_filtered(scope: &Scope, filters: &Filters, sort: Sort) -> bool {
    matches!(scope, Scope::All)
        && !filters.only_subject()
        && !filters.is_unassigned_queue()
        && !other_period(filters, sort)
}

/// True when a period of the date the page is not sorted by is filtered.
fn other_period(filters: &Filters, sort: Sort) -> bool {
    match sort.key {
        SortKey::UpdatedAt => filters.opened_from.is_some() || filters.opened_before.is_some(),
        SortKey::CreatedAt => filters.updated_from.is_some() || filters.updated_before.is_some(),
    }
}

/// Index entries a walk (see [`walk_bound`]) reads at most.
pub const WALK_ENTRIES: u64 = 10_000;

/// A sender's page read by walking the archive in the sort's order: how many index entries to
/// read at most, or `None` to read the sender's requests and sort them.
///
/// The sender's requests are read through the matricola index, then sorted for the page: the
/// cost grows with the sender's archive (an intermediario of 1,000 matricole whose archive grew
/// from 10,000 to 55,000 requests: 6–9 ms → 14–24 ms p50 on SQLite, docs/BENCHMARKS.md). The
/// archive's sort index holds the matricola, so walking it from the cursor and keeping the
/// sender's entries costs about `limit ÷ share` entries, whatever the sender's archive.
///
/// Walked when a page is expected within half of the bound, and only with no filter but a
/// period of the sort's own date (the walk starts at its end): a walk that does not find the
/// page is time lost before the sort (10,000 entries: 5–10 ms on the bench machine, about
/// twice a sorted row's cost), and a status or an ambito may keep anything from most of the
/// requests at the walk's start to almost none of them (the closed ones, at the newest end).
/// Not walked either for a filter with an index of its own (one matricola, a protocollo), the
/// subject, or a period of the other date.
fn walk_bound(scope: &Scope, filters: &Filters, plan: &SubjectPlan, sort: Sort, limit: u64) -> Option<u64> {
    let Scope::DelegatedTo(_, holding) = scope else { return None };
    let other_filters = filters.matricola.is_some()
        || filters.protocollo.is_some()
        || !filters.statuses.is_empty()
        || filters.ambito.is_some()
        || filters.sede.is_some()
        || filters.assigned.is_some()
        || !matches!(plan, SubjectPlan::None);
    if holding.matricole == 0 || other_filters || other_period(filters, sort) {
        return None;
    }
    let expected =
        u128::from(limit) * u128::from(Ord::max(holding.of, holding.matricole)) / u128::from(holding.matricole);
    (expected * 2 <= u128::from(WALK_ENTRIES)).then_some(WALK_ENTRIES)
}

/// The page of [`page`] found by reading at most `entries` entries of the sort's index after
/// the cursor (within the sort key's own period) and keeping those `cond` admits: the first
/// `limit` of them, when that many are met, are the page's — the same rows in the same order.
/// `None` when fewer are met.
async fn walk_page(
    db: &impl ConnectionTrait,
    cond: Condition,
    filters: &Filters,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: u64,
    entries: u64,
) -> Result<Option<Vec<request::Model>>, DbErr> {
    use request::Column as C;
    let col = sort_column(sort);
    let (from, before) = match sort.key {
        SortKey::UpdatedAt => (filters.updated_from, filters.updated_before),
        SortKey::CreatedAt => (filters.opened_from, filters.opened_before),
    };
    let order = if sort.descending { Order::Desc } else { Order::Asc };
    // Only columns both sort indexes hold: the walk reads no row.
    let mut head = Query::select();
    head.columns([C::Id, C::UpdatedAt, C::CreatedAt, C::Matricola, C::Status, C::AmbitoCode, C::AssignedTo])
        .columns([C::SedeCode, C::SubjectSearch])
        .from(request::Entity);
    if let Some(c) = cursor {
        head.and_where(after(sort, c));
    }
    if let Some(t) = from {
        head.and_where(Expr::col((request::Entity, col)).gte(t));
    }
    if let Some(t) = before {
        head.and_where(Expr::col((request::Entity, col)).lt(t));
    }
    head.order_by((request::Entity, col), order.clone())
        .order_by((request::Entity, C::Id), order.clone())
        .limit(entries);
    // The walked entries under the table's own name, so that `cond` reads them as it would
    // the table.
    let ids = Query::select()
        .column((request::Entity, C::Id))
        .from_subquery(head, request::Entity)
        .cond_where(cond)
        .order_by((request::Entity, col), order.clone())
        .order_by((request::Entity, C::Id), order.clone())
        .limit(limit)
        .to_owned();
    let rows = rows_of(db, ids, sort).await?;
    Ok((rows.len() as u64 == limit).then_some(rows))
}

/// How the ids of a page are put in order.
enum PageOrder<'a> {
    /// As an index gives them; these columns, with one value on every matching row, first
    /// (the same order, for the planner's sake).
    Index(&'a [request::Column]),
    /// PostgreSQL: by an expression no index holds, so that every match is read through the
    /// index of the filters and sorted (for few matches).
    Sorted,
}

const UNASSIGNED_INDEX: &str = cassetto_migration::m20261127_000009_unassigned_subject_index::NAME;

/// SQLite, every sede, nothing but a status and «not assigned» besides the subject: the
/// requests [`UNASSIGNED_INDEX`] holds, all of them.
fn unassigned_queue(db: &impl ConnectionTrait, scope: &Scope, f: &Filters) -> bool {
    db.get_database_backend() == DbBackend::Sqlite && matches!(scope, Scope::All) && f.is_unassigned_queue()
}

/// The matching rows, counted up to `cap + 1`.
async fn count_matches(
    db: &impl ConnectionTrait,
    scope: &Scope,
    filters: &Filters,
    plan: &SubjectPlan,
    cond: &Condition,
    cap: u64,
) -> Result<u64, DbErr> {
    let needle = match plan {
        // Every sede, nothing but a common needle: the trigram table (SQLite) or the word
        // counts (PostgreSQL) already showed more matches than are counted.
        SubjectPlan::Common(_) if filters.only_subject() => return Ok(cap + 1),
        SubjectPlan::Common(needle) if db.get_database_backend() == DbBackend::Sqlite => needle,
        _ => {
            let rows = request::Entity::find()
                .filter(cond.clone())
                .select_only()
                .column(request::Column::Id)
                .limit(cap + 1)
                .into_query();
            return Ok(count_rows(db, rows).await? as u64);
        }
    };
    // A common needle with other filters. When those filters leave few rows, or the word is
    // common among them too, the needle is checked on their rows in one pass over a covering
    // index (which holds the subject): that beats walking every request whose subject holds
    // the word.
    let pattern = format!("%{}%", escape_like(needle));
    if unassigned_queue(db, scope, filters) {
        // SQLite, the queue of every sede nobody has taken in charge: its narrow index
        // (migration 9) holds just the status and the subject of those requests, half the
        // reading of the work-queue index's entries. Read until `cap` of them hold the needle:
        // a common word stops early (the 48,000 open requests of a million, «durc»: 10.5 ms,
        // against 17.4 ms for the pass below over the whole queue), and a word the queue holds
        // fewer times reads it whole with one test per entry (12.3 ms against 17.4 ms). The
        // queue is read however long it is — it is the work waiting for the sedi, not the
        // archive — where the pass below turns to the trigram table past FEW_ROWS rows.
        let statuses = if filters.statuses.is_empty() {
            String::new()
        } else {
            format!(" AND status IN ({})", vec!["?"; filters.statuses.len()].join(", "))
        };
        let sql = format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM requests INDEXED BY {UNASSIGNED_INDEX} \
             WHERE assigned_to IS NULL{statuses} AND subject_search LIKE ? ESCAPE '\\' LIMIT {}) hits",
            cap + 1
        );
        let values = filters.statuses.iter().map(|s| s.clone().into()).chain(std::iter::once(pattern.into()));
        let stmt = sea_orm::Statement::from_sql_and_values(DbBackend::Sqlite, sql, values);
        let row = db.query_one_raw(stmt).await?;
        return Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0) as u64);
    }
    // The pass stops at the cap's matches: a word as common among the rows as in the archive
    // meets them early (one ambito of a million requests, «aliquota»: 40,000 entries, 10–14 ms,
    // where a pass over the first FEW_ROWS + 1 rows took 45 ms before the trigram table's walk
    // below, 80–105 ms, had to count them; twenty-second round). Only a pass that finds fewer
    // asks whether it saw every row the filters leave.
    let rows = request::Entity::find()
        .filter(condition(scope, filters))
        .select_only()
        .column(request::Column::SubjectSearch)
        .limit(FEW_ROWS + 1)
        .into_query();
    let hits = Query::select()
        .expr(Expr::cust("1"))
        .from_subquery(rows.clone(), "few")
        .and_where(Expr::cust_with_values("\"few\".\"subject_search\" LIKE ? ESCAPE '\\'", [pattern]))
        .limit(cap + 1)
        .to_owned();
    let hits = count_rows(db, hits).await? as u64;
    if hits > cap {
        return Ok(hits);
    }
    let seen = Query::select().expr(Expr::cust("1")).from_subquery(rows, "few").to_owned();
    if count_rows(db, seen).await? as u64 <= FEW_ROWS {
        return Ok(hits);
    }
    // Many rows: walk the trigram table's matches (and the queue's), checking the other
    // filters on each request.
    let mut q = Query::select();
    q.expr(Expr::cust("1"))
        .from_subquery(subject_matches(needle), Alias::new("matches"))
        .join(JoinType::InnerJoin, request::Entity, Expr::cust("\"matches\".\"request_id\" = \"requests\".\"id\""))
        .cond_where(condition(scope, filters))
        .limit(cap + 1);
    Ok(count_rows(db, q).await? as u64)
}

/// One page of ids in sort order, then those rows.
async fn page(
    db: &impl ConnectionTrait,
    cond: Condition,
    order_by: PageOrder<'_>,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: u64,
) -> Result<Vec<request::Model>, DbErr> {
    let col = sort_column(sort);
    let mut ids = request::Entity::find().filter(cond).select_only().column(request::Column::Id);
    if let Some(c) = cursor {
        ids = ids.filter(after(sort, c));
    }
    let order = if sort.descending { Order::Desc } else { Order::Asc };
    match order_by {
        PageOrder::Index(lead) => {
            for c in lead {
                ids = ids.order_by(*c, order.clone());
            }
            ids = ids.order_by(col, order.clone());
        }
        PageOrder::Sorted => {
            let name = match sort.key {
                SortKey::UpdatedAt => "updated_at",
                SortKey::CreatedAt => "created_at",
            };
            ids = ids.order_by(Expr::cust(format!("\"requests\".\"{name}\" + INTERVAL '0 seconds'")), order.clone());
        }
    }
    let ids = ids.order_by(request::Column::Id, order).limit(limit).into_query();
    rows_of(db, ids, sort).await
}

/// The rows a (limited) query returns, counted by the database.
async fn count_rows(db: &impl ConnectionTrait, rows: sea_orm::sea_query::SelectStatement) -> Result<i64, DbErr> {
    let count = Query::select().expr_as(Expr::cust("COUNT(*)"), "n").from_subquery(rows, "matching").to_owned();
    match db.query_one(&count).await? {
        Some(row) => row.try_get("", "n"),
        None => Ok(0),
    }
}

/// Request ids among `ids` that exist (for the attachment store's orphan sweep).
pub async fn existing_ids(db: &impl ConnectionTrait, ids: Vec<String>) -> Result<Vec<String>, DbErr> {
    request::Entity::find()
        .select_only()
        .column(request::Column::Id)
        .filter(request::Column::Id.is_in(ids))
        .into_tuple::<String>()
        .all(db)
        .await
}

/// A change to a quesito's working state; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub status: Option<String>,
    pub assigned_to: Option<Option<i32>>,
    pub esito: Option<(String, String)>,
    pub sede_code: Option<String>,
    pub taken_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Applies `change` if the quesito is still at `expected_version`, bumping version and
/// `updated_at`. Returns false when someone else changed it first.
pub async fn apply_change(
    db: &impl ConnectionTrait,
    id: &str,
    expected_version: i32,
    change: Change,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use request::Column as C;
    let mut q = request::Entity::update_many()
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .col_expr(C::UpdatedAt, Expr::value(now));
    if let Some(s) = change.status {
        q = q.col_expr(C::Status, Expr::value(s));
    }
    if let Some(a) = change.assigned_to {
        q = q.col_expr(C::AssignedTo, Expr::value(a));
    }
    if let Some((code, text)) = change.esito {
        q = q.col_expr(C::EsitoCode, Expr::value(code)).col_expr(C::EsitoText, Expr::value(text));
    }
    if let Some(s) = change.sede_code {
        q = q.col_expr(C::SedeCode, Expr::value(s));
    }
    if let Some(t) = change.taken_at {
        q = q.col_expr(C::TakenAt, Expr::value(t));
    }
    if let Some(t) = change.closed_at {
        q = q.col_expr(C::ClosedAt, Expr::value(t));
    }
    let res = q.filter(C::Id.eq(id)).filter(C::Version.eq(expected_version)).exec(db).await?;
    Ok(res.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEWEST: Sort = Sort { key: SortKey::UpdatedAt, descending: true };

    fn sender(matricole: u64, of: u64) -> Scope {
        Scope::DelegatedTo(1, Holding { matricole, of })
    }

    /// An intermediario holding 1 % of 100,000 matricole walks; a company of one matricola, a
    /// sender nothing is known of and the back office do not.
    #[test]
    fn only_a_sender_holding_a_large_share_walks() {
        let none = Filters::default();
        assert_eq!(walk_bound(&sender(1_000, 100_000), &none, &SubjectPlan::None, NEWEST, 21), Some(WALK_ENTRIES));
        assert_eq!(walk_bound(&sender(100, 100_000), &none, &SubjectPlan::None, NEWEST, 21), None);
        assert_eq!(walk_bound(&sender(1, 100_000), &none, &SubjectPlan::None, NEWEST, 21), None);
        assert_eq!(walk_bound(&Scope::DelegatedTo(1, Holding::default()), &none, &SubjectPlan::None, NEWEST, 21), None);
        assert_eq!(walk_bound(&Scope::Sede("7002".into()), &none, &SubjectPlan::None, NEWEST, 21), None);
        assert_eq!(walk_bound(&Scope::All, &none, &SubjectPlan::None, NEWEST, 21), None);
        // A larger page needs a larger share.
        assert_eq!(walk_bound(&sender(1_000, 100_000), &none, &SubjectPlan::None, NEWEST, 101), None);
    }

    /// Only a period of the sort's own date walks; every other filter keeps the sort.
    #[test]
    fn only_the_sorts_own_period_walks() {
        let big = sender(1_000, 100_000);
        let walks = |f: Filters, plan: SubjectPlan, sort: Sort| walk_bound(&big, &f, &plan, sort, 21).is_some();
        let at = Some(Utc::now());
        let by_created = Sort { key: SortKey::CreatedAt, descending: false };
        assert!(!walks(
            Filters { matricola: Some("7002000011".into()), ..Default::default() },
            SubjectPlan::None,
            NEWEST
        ));
        assert!(!walks(
            Filters { protocollo: Some("INPS.7002.x".into()), ..Default::default() },
            SubjectPlan::None,
            NEWEST
        ));
        assert!(!walks(Filters::default(), SubjectPlan::Like("durc".into()), NEWEST));
        assert!(!walks(Filters { opened_from: at, ..Default::default() }, SubjectPlan::None, NEWEST));
        assert!(!walks(Filters { updated_before: at, ..Default::default() }, SubjectPlan::None, by_created));
        assert!(walks(Filters { opened_from: at, ..Default::default() }, SubjectPlan::None, by_created));
        assert!(walks(
            Filters { updated_from: at, updated_before: at, ..Default::default() },
            SubjectPlan::None,
            NEWEST
        ));
        assert!(!walks(Filters { statuses: vec!["chiusa".into()], ..Default::default() }, SubjectPlan::None, NEWEST));
        assert!(!walks(Filters { ambito: Some("F24".into()), ..Default::default() }, SubjectPlan::None, NEWEST));
    }
}
