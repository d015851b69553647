//! Storage of cost allocation: rule-set versions, allocation runs, the cost cube (and its monthly roll-up),
//! driver metrics and closed periods. Amounts are exact decimal text, summed by the application.

use crate::{RowGet, Session, StoreError, Value};
use itemize_core::clock::{format_timestamp, parse_timestamp};
use jiff::Timestamp;

fn ts(s: String) -> Result<Timestamp, StoreError> {
    parse_timestamp(&s).map_err(|e| StoreError::Corrupt(format!("timestamp: {e}")))
}

/// One version of a rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSetRow {
    pub id: i64,
    pub name: String,
    pub effective_from: String,
    pub body: String,
    pub body_sha256: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

fn rule_set(r: &dyn RowGet) -> Result<RuleSetRow, StoreError> {
    Ok(RuleSetRow {
        id: r.int("id")?,
        name: r.text("name")?,
        effective_from: r.text("effective_from")?,
        body: r.text("body")?,
        body_sha256: r.text("body_sha256")?,
        created_by: r.text("created_by")?,
        created_at: ts(r.text("created_at")?)?,
    })
}

/// One allocation of one billing period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    pub id: i64,
    pub billing_period: String,
    pub rule_set_id: i64,
    pub status: String,
    pub lines: i64,
    pub cells: i64,
    pub billed_total: String,
    pub effective_total: String,
    pub unallocated_effective: String,
    pub partitions_json: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub duration_ms: i64,
}

fn run(r: &dyn RowGet) -> Result<RunRow, StoreError> {
    Ok(RunRow {
        id: r.int("id")?,
        billing_period: r.text("billing_period")?,
        rule_set_id: r.int("rule_set_id")?,
        status: r.text("status")?,
        lines: r.int("lines")?,
        cells: r.int("cells")?,
        billed_total: r.text("billed_total")?,
        effective_total: r.text("effective_total")?,
        unallocated_effective: r.text("unallocated_effective")?,
        partitions_json: r.text("partitions_json")?,
        created_by: r.text("created_by")?,
        created_at: ts(r.text("created_at")?)?,
        duration_ms: r.int("duration_ms")?,
    })
}

/// One cell of the cost cube.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CubeCell {
    pub billing_period: String,
    pub day: String,
    pub provider: String,
    pub billing_account_id: String,
    pub service_name: String,
    pub region: String,
    pub charge_category: String,
    pub service_category: String,
    pub dims: String,
    pub target: String,
    pub cost_centre: Option<String>,
    pub service: Option<String>,
    pub rule: String,
    pub method: String,
    pub billed: String,
    pub effective: String,
    pub lines: i64,
}

/// A restatement of a closed period, posted into an open one: the difference per cube key (without the day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentRow {
    pub id: i64,
    pub source_period: String,
    pub posted_period: String,
    pub import_id: Option<i64>,
    pub provider: String,
    pub billing_account_id: String,
    pub service_name: String,
    pub region: String,
    pub charge_category: String,
    pub service_category: String,
    pub dims: String,
    pub target: String,
    pub cost_centre: Option<String>,
    pub service: Option<String>,
    pub billed: String,
    pub effective: String,
    pub lines: i64,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// Which cube cells to read: a period range and, optionally, a day range and exact column values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CubeFilter {
    pub period_from: String,
    pub period_to: String,
    pub day_from: Option<String>,
    pub day_to: Option<String>,
    /// `(column, values)`: the cell's column must be one of the values; an empty value stands for a cell without
    /// one (null or empty). Columns are checked against [`CUBE_COLUMNS`]; anything else is refused.
    pub equals: Vec<(String, Vec<String>)>,
}

/// The cube's columns a filter may name.
pub const CUBE_COLUMNS: &[&str] = &[
    "provider",
    "billing_account_id",
    "service_name",
    "region",
    "charge_category",
    "service_category",
    "target",
    "cost_centre",
    "service",
    "rule",
    "method",
];

/// A group of the cube summed by the database ([`Session::cube_sums`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CubeSum {
    pub time: Option<String>,
    pub keys: Vec<Option<String>>,
    /// Exact decimal text: one number, or several separated by spaces, to be added.
    pub billed: String,
    pub effective: String,
    pub lines: i64,
}

/// Appends the filter's day range and column conditions (`$3`… after the period range).
fn cube_where(sql: &mut String, values: &mut Vec<Value>, f: &CubeFilter) -> Result<(), StoreError> {
    let arg = |sql: &mut String, values: &mut Vec<Value>, v: &str| {
        values.push(Value::text(v));
        sql.push_str(&format!("${}", values.len()));
    };
    if let Some(d) = &f.day_from {
        sql.push_str(" AND day >= ");
        arg(sql, values, d);
    }
    if let Some(d) = &f.day_to {
        sql.push_str(" AND day <= ");
        arg(sql, values, d);
    }
    for (column, wanted) in &f.equals {
        let Some(c) = CUBE_COLUMNS.iter().find(|c| **c == column.as_str()) else {
            return Err(StoreError::Corrupt(format!("the cube has no column {column:?}")));
        };
        if wanted.is_empty() {
            continue;
        }
        let named: Vec<&String> = wanted.iter().filter(|w| !w.is_empty()).collect();
        let none = named.len() < wanted.len();
        sql.push_str(" AND (");
        if !named.is_empty() {
            sql.push_str(&format!("{c} IN ("));
            for (i, w) in named.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                arg(sql, values, w);
            }
            sql.push(')');
        }
        if none {
            if !named.is_empty() {
                sql.push_str(" OR ");
            }
            sql.push_str(&format!("{c} IS NULL OR {c} = ''"));
        }
        sql.push(')');
    }
    Ok(())
}

/// The columns [`cube_cell`] reads.
const CUBE_CELL_COLUMNS: &[&str] = &[
    "billing_period",
    "day",
    "provider",
    "billing_account_id",
    "service_name",
    "region",
    "charge_category",
    "service_category",
    "dims",
    "target",
    "cost_centre",
    "service",
    "rule",
    "method",
    "billed",
    "effective",
    "lines",
];

fn cube_cell(r: &dyn RowGet) -> Result<CubeCell, StoreError> {
    Ok(CubeCell {
        billing_period: r.text("billing_period")?,
        day: r.text("day")?,
        provider: r.text("provider")?,
        billing_account_id: r.text("billing_account_id")?,
        service_name: r.text("service_name")?,
        region: r.text("region")?,
        charge_category: r.text("charge_category")?,
        service_category: r.text("service_category")?,
        dims: r.text("dims")?,
        target: r.text("target")?,
        cost_centre: r.opt_text("cost_centre")?,
        service: r.opt_text("service")?,
        rule: r.text("rule")?,
        method: r.text("method")?,
        billed: r.text("billed")?,
        effective: r.text("effective")?,
        lines: r.int("lines")?,
    })
}

fn adjustment(r: &dyn RowGet) -> Result<AdjustmentRow, StoreError> {
    Ok(AdjustmentRow {
        id: r.int("id")?,
        source_period: r.text("source_period")?,
        posted_period: r.text("posted_period")?,
        import_id: r.opt_int("import_id")?,
        provider: r.text("provider")?,
        billing_account_id: r.text("billing_account_id")?,
        service_name: r.text("service_name")?,
        region: r.text("region")?,
        charge_category: r.text("charge_category")?,
        service_category: r.text("service_category")?,
        dims: r.text("dims")?,
        target: r.text("target")?,
        cost_centre: r.opt_text("cost_centre")?,
        service: r.opt_text("service")?,
        billed: r.text("billed")?,
        effective: r.text("effective")?,
        lines: r.int("lines")?,
        created_by: r.text("created_by")?,
        created_at: ts(r.text("created_at")?)?,
    })
}

/// The cube rolled up per period and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthCell {
    pub billing_period: String,
    pub target: String,
    pub cost_centre: Option<String>,
    pub service: Option<String>,
    pub billed: String,
    pub effective: String,
    pub lines: i64,
}

/// One value of a driver metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRow {
    pub billing_period: String,
    pub metric: String,
    pub target: String,
    pub value: String,
}

/// Rows per multi-row INSERT on PostgreSQL (18 columns × 400 stays under its parameter limit).
const BATCH: usize = 400;

impl Session {
    pub(crate) async fn insert_many(
        &mut self,
        head: &str,
        width: usize,
        rows: Vec<Vec<Value>>,
    ) -> Result<(), StoreError> {
        if self.backend() == crate::Backend::Sqlite {
            for chunk in rows.chunks(crate::SQLITE_BULK_ROWS) {
                let (select, json) = crate::sqlite_bulk(width, chunk);
                self.execute(format!("{head} {select}"), vec![json]).await?;
            }
            return Ok(());
        }
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            match crate::pg_bulk(width, rows.by_ref().take(crate::PG_BULK_ROWS).collect()) {
                Ok((select, columns)) => {
                    self.execute(format!("{head} {select}"), columns).await?;
                }
                Err(chunk) => self.insert_values(head, width, &chunk).await?,
            }
        }
        Ok(())
    }

    /// A multi-row `VALUES` insert on PostgreSQL, for rows whose columns do not share one type throughout.
    async fn insert_values(
        &mut self,
        head: &str,
        width: usize,
        rows: &[Vec<Value>],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(BATCH) {
            let mut sql = String::with_capacity(head.len() + chunk.len() * width * 5);
            sql.push_str(head);
            sql.push_str(" VALUES ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for j in 0..width {
                    if j > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("${}", i * width + j + 1));
                }
                sql.push(')');
            }
            self.execute(sql, chunk.concat()).await?;
        }
        Ok(())
    }

    pub async fn insert_rule_set(&mut self, r: &RuleSetRow) -> Result<i64, StoreError> {
        let rows = self
            .fetch_all(
                "INSERT INTO allocation_rule_sets (name, effective_from, body, body_sha256, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
                    .into(),
                vec![
                    Value::text(&r.name),
                    Value::text(&r.effective_from),
                    Value::text(&r.body),
                    Value::text(&r.body_sha256),
                    Value::text(&r.created_by),
                    Value::text(format_timestamp(r.created_at)),
                ],
            )
            .await?;
        rows.first().ok_or_else(|| StoreError::Corrupt("INSERT returned no id".into()))?.int("id")
    }

    /// Every version, newest first.
    pub async fn rule_sets(&mut self) -> Result<Vec<RuleSetRow>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT * FROM allocation_rule_sets ORDER BY effective_from DESC, id DESC".into(),
                vec![],
            )
            .await?;
        rows.iter().map(|r| rule_set(&**r)).collect()
    }

    pub async fn rule_set(&mut self, id: i64) -> Result<Option<RuleSetRow>, StoreError> {
        let rows = self
            .fetch_all("SELECT * FROM allocation_rule_sets WHERE id = $1".into(), vec![Value::int(id)])
            .await?;
        rows.first().map(|r| rule_set(&**r)).transpose()
    }

    /// The version in force for a billing period: the newest whose effective_from is not after it.
    pub async fn rule_set_for(&mut self, period: &str) -> Result<Option<RuleSetRow>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT * FROM allocation_rule_sets WHERE effective_from <= $1 \
                 ORDER BY effective_from DESC, id DESC LIMIT 1"
                    .into(),
                vec![Value::text(period)],
            )
            .await?;
        rows.first().map(|r| rule_set(&**r)).transpose()
    }

    /// Makes `run` the period's current allocation: the previous run becomes `replaced` and the cube's cells for
    /// the period are exchanged; `catalog` (JSON) is what the run's rules were compiled against. Call inside a
    /// transaction so readers see one cube or the other.
    pub async fn replace_allocation(
        &mut self,
        r: &RunRow,
        catalog: &str,
        cells: &[CubeCell],
        months: &[MonthCell],
    ) -> Result<i64, StoreError> {
        let p = Value::text(&r.billing_period);
        self.execute("DELETE FROM cost_cube WHERE billing_period = $1".into(), vec![p.clone()]).await?;
        self.execute("DELETE FROM cost_cube_month WHERE billing_period = $1".into(), vec![p.clone()]).await?;
        self.execute(
            "UPDATE allocation_runs SET status = 'replaced' WHERE billing_period = $1 AND status = 'current'"
                .into(),
            vec![p],
        )
        .await?;
        let rows = self
            .fetch_all(
                "INSERT INTO allocation_runs (billing_period, rule_set_id, status, lines, cells, billed_total, \
                 effective_total, unallocated_effective, partitions_json, created_by, created_at, duration_ms) \
                 VALUES ($1, $2, 'current', $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"
                    .into(),
                vec![
                    Value::text(&r.billing_period),
                    Value::int(r.rule_set_id),
                    Value::int(r.lines),
                    Value::int(r.cells),
                    Value::text(&r.billed_total),
                    Value::text(&r.effective_total),
                    Value::text(&r.unallocated_effective),
                    Value::text(&r.partitions_json),
                    Value::text(&r.created_by),
                    Value::text(format_timestamp(r.created_at)),
                    Value::int(r.duration_ms),
                ],
            )
            .await?;
        let id =
            rows.first().ok_or_else(|| StoreError::Corrupt("INSERT returned no id".into()))?.int("id")?;
        self.execute(
            "INSERT INTO allocation_run_catalogs (run_id, catalog) VALUES ($1, $2)".into(),
            vec![Value::int(id), Value::text(catalog)],
        )
        .await?;
        self.insert_many(
            "INSERT INTO cost_cube (run_id, billing_period, day, provider, billing_account_id, service_name, region, \
             charge_category, service_category, dims, target, cost_centre, service, rule, method, billed, effective, \
             lines)",
            18,
            cells.iter().map(|c| {
                vec![
                    Value::int(id),
                    Value::text(&c.billing_period),
                    Value::text(&c.day),
                    Value::text(&c.provider),
                    Value::text(&c.billing_account_id),
                    Value::text(&c.service_name),
                    Value::text(&c.region),
                    Value::text(&c.charge_category),
                    Value::text(&c.service_category),
                    Value::text(&c.dims),
                    Value::text(&c.target),
                    Value::Text(c.cost_centre.clone()),
                    Value::Text(c.service.clone()),
                    Value::text(&c.rule),
                    Value::text(&c.method),
                    Value::text(&c.billed),
                    Value::text(&c.effective),
                    Value::int(c.lines),
                ]
            })
            .collect(),
        )
        .await?;
        self.insert_many(
            "INSERT INTO cost_cube_month (run_id, billing_period, target, cost_centre, service, billed, effective, \
             lines)",
            8,
            months.iter().map(|m| {
                vec![
                    Value::int(id),
                    Value::text(&m.billing_period),
                    Value::text(&m.target),
                    Value::Text(m.cost_centre.clone()),
                    Value::Text(m.service.clone()),
                    Value::text(&m.billed),
                    Value::text(&m.effective),
                    Value::int(m.lines),
                ]
            })
            .collect(),
        )
        .await?;
        Ok(id)
    }

    /// The catalog (JSON) a run's rules were compiled against; `None` for runs made before runs kept it.
    pub async fn run_catalog(&mut self, run_id: i64) -> Result<Option<String>, StoreError> {
        let row = self
            .fetch_optional(
                "SELECT catalog FROM allocation_run_catalogs WHERE run_id = $1".into(),
                vec![Value::int(run_id)],
            )
            .await?;
        row.map(|r| r.text("catalog")).transpose()
    }

    /// Allocation runs, newest first; of one period when given.
    pub async fn allocation_runs(&mut self, period: Option<&str>) -> Result<Vec<RunRow>, StoreError> {
        let rows = match period {
            Some(p) => {
                self.fetch_all(
                    "SELECT * FROM allocation_runs WHERE billing_period = $1 ORDER BY id DESC".into(),
                    vec![Value::text(p)],
                )
                .await?
            }
            None => self.fetch_all("SELECT * FROM allocation_runs ORDER BY id DESC".into(), vec![]).await?,
        };
        rows.iter().map(|r| run(&**r)).collect()
    }

    /// The current runs of every allocated period, by period.
    pub async fn current_runs(&mut self) -> Result<Vec<RunRow>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT * FROM allocation_runs WHERE status = 'current' ORDER BY billing_period".into(),
                vec![],
            )
            .await?;
        rows.iter().map(|r| run(&**r)).collect()
    }

    /// The monthly roll-up for the periods in `[from, to]`.
    pub async fn cube_months(&mut self, from: &str, to: &str) -> Result<Vec<MonthCell>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT billing_period, target, cost_centre, service, billed, effective, lines FROM cost_cube_month \
                 WHERE billing_period >= $1 AND billing_period <= $2 ORDER BY billing_period, target"
                    .into(),
                vec![Value::text(from), Value::text(to)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MonthCell {
                    billing_period: r.text("billing_period")?,
                    target: r.text("target")?,
                    cost_centre: r.opt_text("cost_centre")?,
                    service: r.opt_text("service")?,
                    billed: r.text("billed")?,
                    effective: r.text("effective")?,
                    lines: r.int("lines")?,
                })
            })
            .collect()
    }

    /// The cube's cells for the periods in `[from, to]`, of one target when given.
    pub async fn cube_cells(
        &mut self,
        from: &str,
        to: &str,
        target: Option<&str>,
    ) -> Result<Vec<CubeCell>, StoreError> {
        let filter = CubeFilter {
            period_from: from.to_string(),
            period_to: to.to_string(),
            equals: target.map(|t| ("target".to_string(), vec![t.to_string()])).into_iter().collect(),
            ..CubeFilter::default()
        };
        self.cube_query(&filter).await
    }

    /// The cube cells a filter selects, in period, day, target and rule order.
    pub async fn cube_query(&mut self, f: &CubeFilter) -> Result<Vec<CubeCell>, StoreError> {
        let mut sql =
            "SELECT * FROM cost_cube WHERE billing_period >= $1 AND billing_period <= $2".to_string();
        let mut values = vec![Value::text(&f.period_from), Value::text(&f.period_to)];
        cube_where(&mut sql, &mut values, f)?;
        sql.push_str(" ORDER BY billing_period, day, target, rule");
        // Where the dialect packs rows (SQLite), the cells cross from the database as one JSON value: tens of
        // thousands of cells otherwise cost a thread hand-over each.
        let rows =
            self.fetch_page(sql, values, CUBE_CELL_COLUMNS, "billing_period, day, target, rule").await?;
        rows.iter().map(|r| cube_cell(&**r)).collect()
    }

    /// The cube summed in the database: one row per (time, `group` columns) for the cells `f` selects, time
    /// being `billing_period`, `day` or none. Amounts stay exact (see [`Backend::exact_sum`]): each sum arrives
    /// as decimal text, possibly several numbers separated by spaces for the caller to add.
    pub async fn cube_sums(
        &mut self,
        f: &CubeFilter,
        time: Option<&str>,
        group: &[&str],
    ) -> Result<Vec<CubeSum>, StoreError> {
        let mut cols: Vec<&str> = Vec::new();
        if let Some(t) = time {
            if !matches!(t, "billing_period" | "day") {
                return Err(StoreError::Corrupt(format!("the cube has no time column {t:?}")));
            }
            cols.push(t);
        }
        for g in group {
            let Some(c) = CUBE_COLUMNS.iter().find(|c| **c == *g) else {
                return Err(StoreError::Corrupt(format!("the cube has no column {g:?}")));
            };
            cols.push(c);
        }
        let backend = self.backend();
        let mut sql = format!(
            "SELECT {}{} {} AS billed, {} AS effective, CAST(SUM(lines) AS BIGINT) AS lines FROM cost_cube \
             WHERE billing_period >= $1 AND billing_period <= $2",
            cols.join(", "),
            if cols.is_empty() { "" } else { "," },
            backend.exact_sum("billed"),
            backend.exact_sum("effective"),
        );
        let mut values = vec![Value::text(&f.period_from), Value::text(&f.period_to)];
        cube_where(&mut sql, &mut values, f)?;
        if !cols.is_empty() {
            sql.push_str(&format!(" GROUP BY {}", cols.join(", ")));
        }
        let rows = self.fetch_all(sql, values).await?;
        rows.iter()
            // Without groups, an aggregate over no cells still answers one row (of nulls): no group at all.
            .filter(|r| r.opt_int("lines").ok().flatten().is_some())
            .map(|r| {
                Ok(CubeSum {
                    time: match time {
                        Some(t) => Some(r.text(t)?),
                        None => None,
                    },
                    keys: group.iter().map(|g| r.opt_text(g)).collect::<Result<_, _>>()?,
                    billed: r.opt_text("billed")?.unwrap_or_default(),
                    effective: r.opt_text("effective")?.unwrap_or_default(),
                    lines: r.opt_int("lines")?.unwrap_or(0),
                })
            })
            .collect()
    }

    /// Posts restatement adjustments (all or none: call inside a transaction).
    pub async fn insert_adjustments(&mut self, rows: &[AdjustmentRow]) -> Result<(), StoreError> {
        self.insert_many(
            "INSERT INTO allocation_adjustments (source_period, posted_period, import_id, provider, \
             billing_account_id, service_name, region, charge_category, service_category, dims, target, cost_centre, \
             service, billed, effective, lines, created_by, created_at)",
            18,
            rows.iter()
                .map(|a| {
                    vec![
                        Value::text(&a.source_period),
                        Value::text(&a.posted_period),
                        Value::Int(a.import_id),
                        Value::text(&a.provider),
                        Value::text(&a.billing_account_id),
                        Value::text(&a.service_name),
                        Value::text(&a.region),
                        Value::text(&a.charge_category),
                        Value::text(&a.service_category),
                        Value::text(&a.dims),
                        Value::text(&a.target),
                        Value::Text(a.cost_centre.clone()),
                        Value::Text(a.service.clone()),
                        Value::text(&a.billed),
                        Value::text(&a.effective),
                        Value::int(a.lines),
                        Value::text(&a.created_by),
                        Value::text(format_timestamp(a.created_at)),
                    ]
                })
                .collect(),
        )
        .await
    }

    /// Adjustments restating `source` (when given) and posted into `posted` (when given), oldest first.
    pub async fn adjustments(
        &mut self,
        source: Option<&str>,
        posted: Option<&str>,
    ) -> Result<Vec<AdjustmentRow>, StoreError> {
        let mut sql = "SELECT * FROM allocation_adjustments WHERE 1 = 1".to_string();
        let mut values = Vec::new();
        if let Some(s) = source {
            values.push(Value::text(s));
            sql.push_str(&format!(" AND source_period = ${}", values.len()));
        }
        if let Some(p) = posted {
            values.push(Value::text(p));
            sql.push_str(&format!(" AND posted_period = ${}", values.len()));
        }
        sql.push_str(" ORDER BY id");
        let rows = self.fetch_all(sql, values).await?;
        rows.iter().map(|r| adjustment(&**r)).collect()
    }

    /// The periods restatements were posted into, in order.
    pub async fn adjustment_periods(&mut self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT DISTINCT posted_period FROM allocation_adjustments ORDER BY posted_period".into(),
                vec![],
            )
            .await?;
        rows.iter().map(|r| r.text("posted_period")).collect()
    }

    /// Replaces a metric's values for the periods the rows name.
    pub async fn upsert_metrics(&mut self, rows: &[MetricRow]) -> Result<(), StoreError> {
        for m in rows {
            self.execute(
                "DELETE FROM allocation_metrics WHERE billing_period = $1 AND metric = $2 AND target = $3"
                    .into(),
                vec![Value::text(&m.billing_period), Value::text(&m.metric), Value::text(&m.target)],
            )
            .await?;
        }
        self.insert_many(
            "INSERT INTO allocation_metrics (billing_period, metric, target, value)",
            4,
            rows.iter()
                .map(|m| {
                    vec![
                        Value::text(&m.billing_period),
                        Value::text(&m.metric),
                        Value::text(&m.target),
                        Value::text(&m.value),
                    ]
                })
                .collect(),
        )
        .await
    }

    pub async fn metrics(&mut self, period: &str) -> Result<Vec<MetricRow>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT * FROM allocation_metrics WHERE billing_period = $1 ORDER BY metric, target".into(),
                vec![Value::text(period)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MetricRow {
                    billing_period: r.text("billing_period")?,
                    metric: r.text("metric")?,
                    target: r.text("target")?,
                    value: r.text("value")?,
                })
            })
            .collect()
    }

    /// Takes the lock of one billing period's allocation ([`crate::Backend::period_lock`]) until this
    /// transaction ends: allocating a period and closing it take it first, then check whether the period is
    /// closed, so the two take turns instead of racing.
    pub async fn lock_period(&mut self, period: &str) -> Result<(), StoreError> {
        if !self.in_transaction() {
            return Err(StoreError::Corrupt("a period is locked only inside a transaction".into()));
        }
        let Some(sql) = self.backend().period_lock() else { return Ok(()) };
        let key: i64 = period
            .replace('-', "")
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{period:?} is not a billing period")))?;
        self.execute(sql.into(), vec![Value::int(key)]).await?;
        Ok(())
    }

    pub async fn close_period(
        &mut self,
        period: &str,
        run_id: i64,
        by: &str,
        at: Timestamp,
        translations: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO closed_periods (billing_period, run_id, closed_by, closed_at, translations) \
             VALUES ($1, $2, $3, $4, $5)"
                .into(),
            vec![
                Value::text(period),
                Value::int(run_id),
                Value::text(by),
                Value::text(format_timestamp(at)),
                Value::text(translations),
            ],
        )
        .await?;
        Ok(())
    }

    /// The translations a closed period's statement was closed with (JSON), if it is closed after they were kept.
    pub async fn closed_translations(&mut self, period: &str) -> Result<Option<String>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT translations FROM closed_periods WHERE billing_period = $1".into(),
                vec![Value::text(period)],
            )
            .await?;
        match rows.first() {
            Some(r) => r.opt_text("translations"),
            None => Ok(None),
        }
    }

    /// Closed periods with the run each was closed on, in period order.
    pub async fn closed_periods(&mut self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows =
            self.fetch_all("SELECT * FROM closed_periods ORDER BY billing_period".into(), vec![]).await?;
        rows.iter().map(|r| Ok((r.text("billing_period")?, r.int("run_id")?))).collect()
    }
}
