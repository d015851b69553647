//! Storage of the cost ledger's manifest (imports and the lake partitions they wrote), exchange rates and
//! contract commitments. Amounts are exact decimal text; totals are JSON documents the application writes.

use crate::{RowGet, Session, StoreError, Value};
use itemize_core::clock::{format_timestamp, parse_timestamp};
use jiff::Timestamp;
use std::collections::BTreeSet;

fn ts(s: Option<String>) -> Result<Option<Timestamp>, StoreError> {
    s.map(|s| parse_timestamp(&s).map_err(|e| StoreError::Corrupt(format!("timestamp: {e}")))).transpose()
}

fn stamp(t: Option<Timestamp>) -> Value {
    Value::Text(t.map(format_timestamp))
}

/// One file offered to the ledger and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportRow {
    pub id: i64,
    pub file_name: String,
    pub file_sha256: String,
    pub file_bytes: i64,
    pub format: Option<String>,
    pub format_version: Option<String>,
    pub container: Option<String>,
    pub mode: String,
    pub status: String,
    pub rows_read: i64,
    pub rows_ingested: i64,
    pub rows_rejected: i64,
    pub totals_json: Option<String>,
    pub report_json: Option<String>,
    pub message: Option<String>,
    pub raw_path: Option<String>,
    pub created_by: String,
    pub created_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub duration_ms: Option<i64>,
}

const IMPORT_COLS: &str = "id, file_name, file_sha256, file_bytes, format, format_version, container, mode, \
     status, rows_read, rows_ingested, rows_rejected, totals_json, report_json, message, raw_path, created_by, \
     created_at, started_at, finished_at, duration_ms";

fn import(r: &dyn RowGet) -> Result<ImportRow, StoreError> {
    Ok(ImportRow {
        id: r.int("id")?,
        file_name: r.text("file_name")?,
        file_sha256: r.text("file_sha256")?,
        file_bytes: r.int("file_bytes")?,
        format: r.opt_text("format")?,
        format_version: r.opt_text("format_version")?,
        container: r.opt_text("container")?,
        mode: r.text("mode")?,
        status: r.text("status")?,
        rows_read: r.int("rows_read")?,
        rows_ingested: r.int("rows_ingested")?,
        rows_rejected: r.int("rows_rejected")?,
        totals_json: r.opt_text("totals_json")?,
        report_json: r.opt_text("report_json")?,
        message: r.opt_text("message")?,
        raw_path: r.opt_text("raw_path")?,
        created_by: r.text("created_by")?,
        created_at: ts(r.opt_text("created_at")?)?,
        started_at: ts(r.opt_text("started_at")?)?,
        finished_at: ts(r.opt_text("finished_at")?)?,
        duration_ms: r.opt_int("duration_ms")?,
    })
}

/// One lake file: a billing period of one billing account of one provider, as one import wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRow {
    pub id: i64,
    pub import_id: i64,
    pub billing_period: String,
    pub provider: String,
    pub billing_account_id: String,
    /// What of the account's period this partition restates: "" for all of it, else an invoice number or a
    /// file's SHA-256 (see the generic mapping's `replaces`).
    pub slice: String,
    pub status: String,
    pub superseded_by: Option<i64>,
    pub rows: i64,
    pub lake_path: String,
    pub totals_json: String,
    pub services_json: String,
    pub tag_keys_json: String,
    /// The end of the partition's latest charge (fixed-width RFC 3339 UTC); `None` for partitions imported
    /// before it was recorded.
    pub charges_until: Option<String>,
}

/// What a partition restates besides the current partitions of its own period, account, provider and slice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restates {
    /// Other names the ledger holds the partition's provider under: a vendor's earlier spelling, now one of its
    /// aliases. Their partitions of the same slice are restated too.
    pub providers: Vec<String>,
    /// Other slices of the period it restates (an Azure amortized reading restates the actual one's usage).
    pub slices: Vec<String>,
    /// Other billing periods its slice (an invoice) is restated in besides its own: a corrected invoice may be
    /// dated in the month next to the reading it corrects.
    pub periods: Vec<String>,
}

const PARTITION_COLS: &str = "id, import_id, billing_period, provider, billing_account_id, slice, status, \
     superseded_by, rows_count, lake_path, totals_json, services_json, tag_keys_json, charges_until";

fn partition(r: &dyn RowGet) -> Result<PartitionRow, StoreError> {
    Ok(PartitionRow {
        id: r.int("id")?,
        import_id: r.int("import_id")?,
        billing_period: r.text("billing_period")?,
        provider: r.text("provider")?,
        billing_account_id: r.text("billing_account_id")?,
        slice: r.text("slice")?,
        status: r.text("status")?,
        superseded_by: r.opt_int("superseded_by")?,
        rows: r.int("rows_count")?,
        lake_path: r.text("lake_path")?,
        totals_json: r.text("totals_json")?,
        services_json: r.text("services_json")?,
        tag_keys_json: r.text("tag_keys_json")?,
        charges_until: r.opt_text("charges_until")?,
    })
}

/// Which current partitions a ledger query needs; `None` is "any".
#[derive(Debug, Clone, Default)]
pub struct PartitionFilter {
    pub period_from: Option<String>,
    pub period_to: Option<String>,
    pub provider: Option<String>,
    pub billing_account_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRow {
    pub date: String,
    pub from: String,
    pub to: String,
    pub rate: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentRow {
    pub line: i64,
    pub commitment_id: String,
    pub commitment_type: Option<String>,
    pub commitment_category: Option<String>,
    pub cost: Option<String>,
    pub quantity: Option<String>,
    pub unit: Option<String>,
    pub description: Option<String>,
    pub period_start: String,
    pub period_end: String,
    pub contract_id: Option<String>,
    pub contract_period_start: Option<String>,
    pub contract_period_end: Option<String>,
    pub billing_currency: String,
}

impl Session {
    pub async fn insert_import(&mut self, row: &ImportRow) -> Result<i64, StoreError> {
        let sql = "INSERT INTO cost_imports (file_name, file_sha256, file_bytes, mode, status, rows_read, \
                   rows_ingested, rows_rejected, created_by, created_at, message) \
                   VALUES ($1, $2, $3, $4, $5, 0, 0, 0, $6, $7, $8) RETURNING id";
        let r = self
            .fetch_optional(
                sql.into(),
                vec![
                    Value::text(&row.file_name),
                    Value::text(&row.file_sha256),
                    Value::int(row.file_bytes),
                    Value::text(&row.mode),
                    Value::text(&row.status),
                    Value::text(&row.created_by),
                    stamp(row.created_at),
                    Value::Text(row.message.clone()),
                ],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        r.int("id")
    }

    /// Writes everything but the identity columns of an import.
    pub async fn update_import(&mut self, row: &ImportRow) -> Result<(), StoreError> {
        let sql = "UPDATE cost_imports SET file_sha256 = $2, file_bytes = $3, format = $4, format_version = $5, \
                   container = $6, mode = $7, status = $8, rows_read = $9, rows_ingested = $10, rows_rejected = $11, \
                   totals_json = $12, report_json = $13, message = $14, raw_path = $15, started_at = $16, \
                   finished_at = $17, duration_ms = $18 WHERE id = $1";
        let n = self
            .execute(
                sql.into(),
                vec![
                    Value::int(row.id),
                    Value::text(&row.file_sha256),
                    Value::int(row.file_bytes),
                    Value::Text(row.format.clone()),
                    Value::Text(row.format_version.clone()),
                    Value::Text(row.container.clone()),
                    Value::text(&row.mode),
                    Value::text(&row.status),
                    Value::int(row.rows_read),
                    Value::int(row.rows_ingested),
                    Value::int(row.rows_rejected),
                    Value::Text(row.totals_json.clone()),
                    Value::Text(row.report_json.clone()),
                    Value::Text(row.message.clone()),
                    Value::Text(row.raw_path.clone()),
                    stamp(row.started_at),
                    stamp(row.finished_at),
                    Value::Int(row.duration_ms),
                ],
            )
            .await?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn cost_import(&mut self, id: i64) -> Result<Option<ImportRow>, StoreError> {
        let sql = format!("SELECT {IMPORT_COLS} FROM cost_imports WHERE id = $1");
        let row = self.fetch_optional(sql, vec![Value::int(id)]).await?;
        row.map(|r| import(&*r)).transpose()
    }

    /// The latest import that took these bytes into the ledger (active or since superseded), if any.
    pub async fn import_by_hash(&mut self, sha256: &str) -> Result<Option<ImportRow>, StoreError> {
        let sql = format!(
            "SELECT {IMPORT_COLS} FROM cost_imports WHERE file_sha256 = $1 \
             AND status IN ('active', 'superseded') ORDER BY id DESC LIMIT 1"
        );
        let row = self.fetch_optional(sql, vec![Value::text(sha256)]).await?;
        row.map(|r| import(&*r)).transpose()
    }

    /// Imports, newest first, `limit` from before `before_id`.
    pub async fn cost_imports(
        &mut self,
        status: Option<&str>,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ImportRow>, StoreError> {
        let mut sql = format!("SELECT {IMPORT_COLS} FROM cost_imports WHERE 1 = 1");
        let mut vals = Vec::new();
        if let Some(s) = status {
            vals.push(Value::text(s));
            sql.push_str(&format!(" AND status = ${}", vals.len()));
        }
        if let Some(b) = before_id {
            vals.push(Value::int(b));
            sql.push_str(&format!(" AND id < ${}", vals.len()));
        }
        vals.push(Value::int(limit));
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", vals.len()));
        let rows = self.fetch_all(sql, vals).await?;
        rows.iter().map(|r| import(&**r)).collect()
    }

    /// Imports left queued or running by a process that stopped; they are marked failed at start-up.
    pub async fn fail_unfinished_imports(&mut self, message: &str) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE cost_imports SET status = 'failed', message = $1 WHERE status IN ('queued', 'running')"
                .into(),
            vec![Value::text(message)],
        )
        .await
    }

    /// Makes an import's partitions current, superseding whatever was current for the same period, provider
    /// and account; an import whose every partition is now superseded becomes `superseded`. Call inside a
    /// transaction: readers see the old set or the new one, never a mix.
    /// `every_provider`: a whole-period partition restates the period of the account whatever its provider (a
    /// generic source's file run again: a vendor it no longer names had its lines taken out), not only its own.
    /// `restates[i]` (when given): what `parts[i]` restates besides its own slice (see [`Restates`]).
    /// A partition given with status `superseded` (and who holds its place in `superseded_by`) is kept in the
    /// history without being made current, a reading the ledger prefers another one to; it still restates what
    /// it names.
    pub async fn activate_partitions(
        &mut self,
        import_id: i64,
        parts: &[PartitionRow],
        every_provider: bool,
        restates: &[Restates],
    ) -> Result<(Vec<i64>, BTreeSet<String>), StoreError> {
        let mut replaced = Vec::new();
        // The billing periods of the partitions restated (an invoice's may be another month's).
        let mut periods = BTreeSet::new();
        let none = Restates::default();
        for (i, p) in parts.iter().enumerate() {
            let also = restates.get(i).unwrap_or(&none);
            let current = p.status == "active";
            // What the partition restates: a whole period (slice '') every current partition of the period and
            // account, whatever its slice; a slice (an invoice) the current partition of that slice, and the
            // slices `also` names. A provider of '' is an earlier reading of the same bill that did not name it
            // (a FOCUS 1.3 file read before ServiceProviderName stood in for ProviderName): it is restated too,
            // as are the other names `also` gives the provider.
            // Never the import's own partitions (it may write several slices of one period).
            // ($2 is bound either way; `$2 = $2` keeps it in the statement when every provider is meant.)
            let every = every_provider && p.slice.is_empty();
            let providers: &[String] = if every { &[] } else { &also.providers };
            let mut n = 5;
            let mut list = |k: usize| -> String {
                (0..k)
                    .map(|_| {
                        n += 1;
                        format!("${n}")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let provider = if every {
                "$2 = $2".to_string()
            } else if providers.is_empty() {
                "(provider = $2 OR provider = '')".to_string()
            } else {
                format!("(provider = $2 OR provider = '' OR provider IN ({}))", list(providers.len()))
            };
            let slice = if also.slices.is_empty() {
                "($4 = '' OR slice = $4)".to_string()
            } else {
                format!("($4 = '' OR slice = $4 OR slice IN ({}))", list(also.slices.len()))
            };
            let other_periods: &[String] = if p.slice.is_empty() { &[] } else { &also.periods };
            let period = if other_periods.is_empty() {
                "billing_period = $1".to_string()
            } else {
                format!("billing_period IN ($1, {})", list(other_periods.len()))
            };
            let which = format!(
                "{period} AND {provider} AND billing_account_id = $3 AND {slice} \
                 AND import_id <> $5 AND status = 'active'"
            );
            let key = || {
                let mut v = vec![
                    Value::text(&p.billing_period),
                    Value::text(&p.provider),
                    Value::text(&p.billing_account_id),
                    Value::text(&p.slice),
                    Value::int(import_id),
                ];
                v.extend(providers.iter().map(Value::text));
                v.extend(also.slices.iter().map(Value::text));
                v.extend(other_periods.iter().map(Value::text));
                v
            };
            let old = self
                .fetch_all(
                    format!("SELECT import_id, billing_period FROM cost_partitions WHERE {which}"),
                    key(),
                )
                .await?;
            for r in old.iter() {
                replaced.push(r.int("import_id")?);
                periods.insert(r.text("billing_period")?);
            }
            self.execute(
                format!("UPDATE cost_partitions SET status = 'superseded', superseded_by = $5 WHERE {which}"),
                key(),
            )
            .await?;
            self.execute(
                "INSERT INTO cost_partitions (import_id, billing_period, provider, billing_account_id, status, \
                 superseded_by, rows_count, lake_path, totals_json, services_json, tag_keys_json, slice, \
                 charges_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                    .into(),
                vec![
                    Value::int(import_id),
                    Value::text(&p.billing_period),
                    Value::text(&p.provider),
                    Value::text(&p.billing_account_id),
                    Value::text(if current { "active" } else { "superseded" }),
                    Value::Int(if current { None } else { p.superseded_by }),
                    Value::int(p.rows),
                    Value::text(&p.lake_path),
                    Value::text(&p.totals_json),
                    Value::text(&p.services_json),
                    Value::text(&p.tag_keys_json),
                    Value::text(&p.slice),
                    Value::Text(p.charges_until.clone()),
                ],
            )
            .await?;
        }
        replaced.sort_unstable();
        replaced.dedup();
        replaced.retain(|id| *id != import_id);
        for id in &replaced {
            self.execute(
                "UPDATE cost_imports SET status = 'superseded' WHERE id = $1 AND status = 'active' AND NOT EXISTS \
                 (SELECT 1 FROM cost_partitions WHERE import_id = $1 AND status = 'active')"
                    .into(),
                vec![Value::int(*id)],
            )
            .await?;
        }
        Ok((replaced, periods))
    }

    /// Takes the ledger's lock (see [`crate::Backend::ledger_lock`]) until the transaction ends.
    pub async fn lock_ledger(&mut self) -> Result<(), StoreError> {
        if !self.in_transaction() {
            return Err(StoreError::Corrupt("the ledger is locked only inside a transaction".into()));
        }
        let Some(sql) = self.backend().ledger_lock() else { return Ok(()) };
        self.execute(sql.into(), Vec::new()).await?;
        Ok(())
    }

    /// The current partitions of an account holding `slice` (an invoice), in any billing period.
    pub async fn active_partitions_of_slice(
        &mut self,
        billing_account_id: &str,
        slice: &str,
    ) -> Result<Vec<PartitionRow>, StoreError> {
        let sql = format!(
            "SELECT {PARTITION_COLS} FROM cost_partitions WHERE billing_account_id = $1 AND slice = $2 \
             AND status = 'active' ORDER BY billing_period, provider"
        );
        let rows = self.fetch_all(sql, vec![Value::text(billing_account_id), Value::text(slice)]).await?;
        rows.iter().map(|r| partition(&**r)).collect()
    }

    /// Current partitions matching the filter, by period, provider and account.
    pub async fn current_partitions(&mut self, f: &PartitionFilter) -> Result<Vec<PartitionRow>, StoreError> {
        self.partitions_where(f, "status = 'active'").await
    }

    /// The current partitions of a billing period of an account (any provider, any slice).
    pub async fn active_partitions_of(
        &mut self,
        billing_period: &str,
        billing_account_id: &str,
    ) -> Result<Vec<PartitionRow>, StoreError> {
        let sql = format!(
            "SELECT {PARTITION_COLS} FROM cost_partitions WHERE billing_period = $1 AND billing_account_id = $2 \
             AND status = 'active' ORDER BY provider, slice"
        );
        let rows =
            self.fetch_all(sql, vec![Value::text(billing_period), Value::text(billing_account_id)]).await?;
        rows.iter().map(|r| partition(&**r)).collect()
    }

    /// Every partition an import wrote, current or superseded.
    pub async fn import_partitions(&mut self, import_id: i64) -> Result<Vec<PartitionRow>, StoreError> {
        let sql = format!(
            "SELECT {PARTITION_COLS} FROM cost_partitions WHERE import_id = $1 \
             ORDER BY billing_period, provider, billing_account_id, slice"
        );
        let rows = self.fetch_all(sql, vec![Value::int(import_id)]).await?;
        rows.iter().map(|r| partition(&**r)).collect()
    }

    /// Every version of the matching partitions, oldest first: the ledger's history.
    pub async fn partition_history(&mut self, f: &PartitionFilter) -> Result<Vec<PartitionRow>, StoreError> {
        self.partitions_where(f, "1 = 1").await
    }

    async fn partitions_where(
        &mut self,
        f: &PartitionFilter,
        base: &str,
    ) -> Result<Vec<PartitionRow>, StoreError> {
        let mut sql = format!("SELECT {PARTITION_COLS} FROM cost_partitions WHERE {base}");
        let mut vals = Vec::new();
        let add = |cond: &str, v: &Option<String>, sql: &mut String, vals: &mut Vec<Value>| {
            if let Some(v) = v {
                vals.push(Value::text(v));
                sql.push_str(&format!(" AND {cond} ${}", vals.len()));
            }
        };
        add("billing_period >=", &f.period_from, &mut sql, &mut vals);
        add("billing_period <=", &f.period_to, &mut sql, &mut vals);
        add("provider =", &f.provider, &mut sql, &mut vals);
        add("billing_account_id =", &f.billing_account_id, &mut sql, &mut vals);
        sql.push_str(" ORDER BY billing_period, provider, billing_account_id, id");
        let rows = self.fetch_all(sql, vals).await?;
        rows.iter().map(|r| partition(&**r)).collect()
    }

    /// Adds or replaces rates; returns how many rows were written.
    pub async fn upsert_rates(
        &mut self,
        rates: &[RateRow],
        source: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut n = 0;
        for r in rates {
            n += self
                .execute(
                    "INSERT INTO exchange_rates (rate_date, from_currency, to_currency, rate, source, imported_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (rate_date, from_currency, to_currency) \
                     DO UPDATE SET rate = excluded.rate, source = excluded.source, imported_at = excluded.imported_at"
                        .into(),
                    vec![
                        Value::text(&r.date),
                        Value::text(&r.from),
                        Value::text(&r.to),
                        Value::text(&r.rate),
                        Value::text(source),
                        Value::text(format_timestamp(now)),
                    ],
                )
                .await?;
        }
        Ok(n)
    }

    /// Every rate, by date.
    pub async fn rates(&mut self) -> Result<Vec<RateRow>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT rate_date, from_currency, to_currency, rate FROM exchange_rates \
                 ORDER BY rate_date, from_currency, to_currency"
                    .into(),
                vec![],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RateRow {
                    date: r.text("rate_date")?,
                    from: r.text("from_currency")?,
                    to: r.text("to_currency")?,
                    rate: r.text("rate")?,
                })
            })
            .collect()
    }

    pub async fn insert_commitments(
        &mut self,
        import_id: i64,
        rows: &[CommitmentRow],
    ) -> Result<(), StoreError> {
        for c in rows {
            self.execute(
                "INSERT INTO contract_commitments (import_id, line, commitment_id, commitment_type, \
                 commitment_category, cost, quantity, unit, description, period_start, period_end, contract_id, \
                 contract_period_start, contract_period_end, billing_currency) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                    .into(),
                vec![
                    Value::int(import_id),
                    Value::int(c.line),
                    Value::text(&c.commitment_id),
                    Value::Text(c.commitment_type.clone()),
                    Value::Text(c.commitment_category.clone()),
                    Value::Text(c.cost.clone()),
                    Value::Text(c.quantity.clone()),
                    Value::Text(c.unit.clone()),
                    Value::Text(c.description.clone()),
                    Value::text(&c.period_start),
                    Value::text(&c.period_end),
                    Value::Text(c.contract_id.clone()),
                    Value::Text(c.contract_period_start.clone()),
                    Value::Text(c.contract_period_end.clone()),
                    Value::text(&c.billing_currency),
                ],
            )
            .await?;
        }
        Ok(())
    }

    /// The commitments of the active imports, the latest import's row winning for each commitment.
    pub async fn commitments(&mut self) -> Result<Vec<CommitmentRow>, StoreError> {
        let rows = self
            .fetch_all(
                "SELECT c.* FROM contract_commitments c JOIN cost_imports i ON i.id = c.import_id \
                 WHERE i.status = 'active' AND c.import_id = (SELECT max(c2.import_id) FROM contract_commitments c2 \
                 JOIN cost_imports i2 ON i2.id = c2.import_id WHERE c2.commitment_id = c.commitment_id \
                 AND i2.status = 'active') ORDER BY c.commitment_id, c.line"
                    .into(),
                vec![],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(CommitmentRow {
                    line: r.int("line")?,
                    commitment_id: r.text("commitment_id")?,
                    commitment_type: r.opt_text("commitment_type")?,
                    commitment_category: r.opt_text("commitment_category")?,
                    cost: r.opt_text("cost")?,
                    quantity: r.opt_text("quantity")?,
                    unit: r.opt_text("unit")?,
                    description: r.opt_text("description")?,
                    period_start: r.text("period_start")?,
                    period_end: r.text("period_end")?,
                    contract_id: r.opt_text("contract_id")?,
                    contract_period_start: r.opt_text("contract_period_start")?,
                    contract_period_end: r.opt_text("contract_period_end")?,
                    billing_currency: r.text("billing_currency")?,
                })
            })
            .collect()
    }
}
