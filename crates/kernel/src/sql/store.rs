//! The SQL store written once for every database (see [`super::Backend`]): transactions that
//! carry the inbox and the outbox, migrations, the relay's side of the outbox, dead letters, and
//! the statements of the aggregate store.

use super::*;

impl<DB: Backend> SqlStore<DB> {
    /// Takes the in-process writer lock where the database has a single writer.
    async fn write_guard(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        let writer = match self.writer.get() {
            Some(writer) => writer.clone(),
            None => {
                let file = DB::single_writer_file(&self.pool)?;
                self.writer.get_or_init(|| sqlite_writer(&file)).clone()
            }
        };
        Some(writer.lock_owned().await)
    }

    /// Starts a write transaction; events published in it carry the ambient trace context.
    pub async fn begin(&self) -> anyhow::Result<Tx<DB>> {
        let writer = self.write_guard().await;
        let tx = DB::begin_tx(&self.pool)
            .await
            .context("cannot begin a transaction")?;
        let ambient = context::current();
        Ok(Tx {
            tx,
            source: self.name.clone(),
            wake: self.wake.clone(),
            traceparent: ambient.traceparent,
            causation: ambient.causation,
            published: 0,
            _writer: writer,
        })
    }

    /// Starts the transaction that handles `event`, recording it in the inbox first.
    ///
    /// Returns `None` when this service already handled the event: a redelivery has no second
    /// effect. Events published in the transaction are caused by `event`.
    pub async fn begin_handling(&self, event: &Envelope) -> anyhow::Result<Option<Tx<DB>>> {
        self.begin_caused_by(&Cause::of(event)).await
    }

    /// Starts the transaction that handles the event behind `cause` (see
    /// [`Self::begin_handling`]).
    pub async fn begin_caused_by(&self, event: &Cause) -> anyhow::Result<Option<Tx<DB>>> {
        let mut tx = self.begin().await?;
        let consumer = match &event.scope {
            Some(scope) => format!("{}#{scope}", self.name),
            None => self.name.to_string(),
        };
        let event_id = event.event_id.to_string();
        let binds = [
            Bind::Text(&consumer),
            Bind::Text(&event_id),
            Bind::Int(now_millis()),
        ];
        let inserted = DB::execute_in(&mut tx.tx, DB::DIALECT.inbox_insert, &binds)
            .await
            .context("cannot record the event in the inbox")?;
        if inserted == 0 {
            DB::rollback(tx.tx).await.context("cannot roll back")?;
            return Ok(None);
        }
        tx.causation = Some(event.event_id);
        // The handler's own span (the ambient context, a child of the event's) produces what
        // it appends; outside one (a rebuild, a tool) the event's trace is carried on.
        let trace_of =
            |t: &Option<String>| t.as_deref().and_then(context::trace_id).map(str::to_owned);
        if event.traceparent.is_some() && trace_of(&tx.traceparent) != trace_of(&event.traceparent)
        {
            tx.traceparent = event.traceparent.clone();
        }
        Ok(Some(tx))
    }

    /// Starts the transaction of a command (`cause` is `None`) or of the handling of an event
    /// (see [`Self::begin_handling`]); `None` when the event was handled before.
    pub async fn begin_for(&self, cause: Option<&Envelope>) -> anyhow::Result<Option<Tx<DB>>> {
        match cause {
            Some(event) => self.begin_handling(event).await,
            None => self.begin().await.map(Some),
        }
    }

    /// Whether this service has handled `event_id` (for tests and diagnostics).
    pub async fn has_handled(&self, event_id: Uuid) -> anyhow::Result<bool> {
        let sql = format!(
            "SELECT COUNT(*) FROM msa_inbox WHERE consumer = {} AND event_id = {}",
            (DB::DIALECT.placeholder)(1),
            (DB::DIALECT.placeholder)(2)
        );
        let event_id = event_id.to_string();
        let binds = [Bind::Text(&self.name), Bind::Text(&event_id)];
        let count = DB::integer_on(&self.pool, &sql, &binds)
            .await
            .context("cannot read the inbox")?;
        Ok(count.unwrap_or(0) > 0)
    }

    /// Creates the kernel's tables, then applies `component`'s migrations not applied yet.
    pub async fn migrate(&self, component: &str, migrations: &[Migration]) -> anyhow::Result<()> {
        self.migrate_kernel().await?;
        for migration in migrations {
            let mut tx = self.begin().await?;
            let version = [Bind::Text(component), Bind::Int(migration.version)];
            let applied = DB::integer_in(&mut tx.tx, DB::DIALECT.migration_applied, &version)
                .await
                .context("cannot read applied migrations")?;
            if applied.unwrap_or(0) > 0 {
                continue;
            }
            for statement in split_statements(migration.sql) {
                if let Err(error) = DB::raw_in(&mut tx.tx, statement).await {
                    return Err(error).with_context(|| {
                        format!(
                            "migration {component} v{} ({}) failed",
                            migration.version, migration.name
                        )
                    });
                }
            }
            let record = [
                Bind::Text(component),
                Bind::Int(migration.version),
                Bind::Text(migration.name),
                Bind::Int(now_millis()),
            ];
            match DB::execute_in(&mut tx.tx, DB::DIALECT.migration_record, &record).await {
                Ok(_) => DB::commit(tx.tx)
                    .await
                    .context("cannot commit a migration")?,
                // A replica starting at the same time applied it first.
                Err(error) if is_unique_violation(&error) => {}
                Err(error) => return Err(error).context("cannot record a migration"),
            }
            tracing::info!(
                component,
                version = migration.version,
                name = migration.name,
                "applied migration"
            );
        }
        Ok(())
    }

    /// Creates the kernel's tables where missing.
    pub async fn migrate_kernel(&self) -> anyhow::Result<()> {
        for statement in DB::DIALECT.schema.iter().chain(DB::DIALECT.documents) {
            DB::raw_on(&self.pool, statement)
                .await
                .context("cannot create the kernel tables")?;
        }
        Ok(())
    }

    /// Answers whether the store is reachable.
    pub async fn ping(&self) -> anyhow::Result<()> {
        DB::execute_on(&self.pool, "SELECT 1", &[])
            .await
            .context("store unreachable")?;
        Ok(())
    }
}

impl<DB: Backend> Tx<DB> {
    /// Appends `event` to the outbox, to be published after (and only if) this commits.
    pub async fn publish(&mut self, event: NewEvent) -> anyhow::Result<Envelope> {
        let envelope = event.into_envelope(&self.source, self.traceparent.clone(), self.causation);
        let (id, json) = (envelope.id.to_string(), envelope.to_json());
        let binds = [
            Bind::Text(&id),
            Bind::Text(&envelope.subject),
            Bind::Text(&envelope.event_type),
            Bind::Text(&json),
            Bind::Int(now_millis()),
        ];
        DB::execute_in(&mut self.tx, DB::DIALECT.outbox_insert, &binds)
            .await
            .context("cannot append to the outbox")?;
        self.published += 1;
        Ok(envelope)
    }

    /// Commits state, outbox and inbox together, then wakes the relay.
    pub async fn commit(self) -> anyhow::Result<()> {
        DB::commit(self.tx).await.context("cannot commit")?;
        if self.published > 0 {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Abandons the transaction.
    pub async fn rollback(self) -> anyhow::Result<()> {
        DB::rollback(self.tx).await.context("cannot roll back")
    }
}

#[async_trait]
impl<DB: Backend> OutboxSource for SqlStore<DB> {
    fn name(&self) -> &str {
        &self.name
    }

    fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    async fn try_lease(&self, lease: &str, owner: &str, ttl: Duration) -> anyhow::Result<bool> {
        let _writer = self.write_guard().await;
        let now = now_millis();
        let expires = now + ttl.as_millis() as i64;
        let renew = [
            Bind::Text(owner),
            Bind::Int(expires),
            Bind::Text(lease),
            Bind::Text(owner),
            Bind::Int(now),
        ];
        let renewed = DB::execute_on(&self.pool, DB::DIALECT.lease_renew, &renew)
            .await
            .context("cannot renew the relay lease")?;
        if renewed > 0 {
            return Ok(true);
        }
        let take = [Bind::Text(lease), Bind::Text(owner), Bind::Int(expires)];
        let inserted = DB::execute_on(&self.pool, DB::DIALECT.lease_insert, &take)
            .await
            .context("cannot take the relay lease")?;
        Ok(inserted > 0)
    }

    async fn unpublished(&self, limit: u32) -> anyhow::Result<Vec<(i64, Envelope)>> {
        let binds = [Bind::Int(i64::from(limit))];
        let rows = DB::pairs_on(&self.pool, DB::DIALECT.outbox_unpublished, &binds)
            .await
            .context("cannot read the outbox")?;
        rows.into_iter()
            .map(|(position, json)| {
                let envelope = Envelope::from_json(json.as_bytes())
                    .with_context(|| format!("outbox row {position} is not an envelope"))?;
                Ok((position, envelope))
            })
            .collect()
    }

    async fn mark_published(&self, positions: &[i64]) -> anyhow::Result<()> {
        let _writer = self.write_guard().await;
        if positions.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (0..positions.len())
            .map(|i| (DB::DIALECT.placeholder)(i + 2))
            .collect();
        let sql = format!(
            "{}{})",
            DB::DIALECT.outbox_mark_prefix,
            placeholders.join(", ")
        );
        let binds: Vec<Bind<'_>> = std::iter::once(now_millis())
            .chain(positions.iter().copied())
            .map(Bind::Int)
            .collect();
        DB::execute_on(&self.pool, &sql, &binds)
            .await
            .context("cannot mark outbox rows published")?;
        Ok(())
    }

    async fn backlog(&self) -> anyhow::Result<u64> {
        let count = DB::integer_on(&self.pool, DB::DIALECT.outbox_backlog, &[])
            .await
            .context("cannot count the outbox backlog")?;
        Ok(count.unwrap_or(0) as u64)
    }

    async fn purge(&self, before_millis: i64) -> anyhow::Result<()> {
        let _writer = self.write_guard().await;
        let before = [Bind::Int(before_millis)];
        DB::execute_on(&self.pool, DB::DIALECT.outbox_purge, &before)
            .await
            .context("cannot purge the outbox")?;
        DB::execute_on(&self.pool, DB::DIALECT.inbox_purge, &before)
            .await
            .context("cannot purge the inbox")?;
        Ok(())
    }
}

#[async_trait]
impl<DB: Backend> DeadLetterStore for SqlStore<DB> {
    async fn park(
        &self,
        payload: &str,
        envelope: Option<&Envelope>,
        error: &str,
        attempts: u32,
    ) -> anyhow::Result<()> {
        let _writer = self.write_guard().await;
        let id = envelope.map(|e| e.id.to_string());
        let binds = [
            Bind::Text(&self.name),
            Bind::OptText(id.as_deref()),
            Bind::OptText(envelope.map(|e| e.subject.as_str())),
            Bind::OptText(envelope.map(|e| e.event_type.as_str())),
            Bind::Text(payload),
            Bind::Text(error),
            Bind::Int(i64::from(attempts)),
            Bind::Int(now_millis()),
        ];
        DB::execute_on(&self.pool, DB::DIALECT.dead_letter_insert, &binds)
            .await
            .context("cannot park a dead letter")?;
        Ok(())
    }

    async fn list(&self) -> anyhow::Result<Vec<DeadLetter>> {
        let binds = [Bind::Text(&self.name)];
        let rows = DB::dead_letters_on(&self.pool, DB::DIALECT.dead_letter_list, &binds)
            .await
            .context("cannot list dead letters")?;
        Ok(rows.into_iter().map(decode_dead_letter).collect())
    }

    async fn get(&self, id: i64) -> anyhow::Result<Option<DeadLetter>> {
        let binds = [Bind::Text(&self.name), Bind::Int(id)];
        let rows = DB::dead_letters_on(&self.pool, DB::DIALECT.dead_letter_get, &binds)
            .await
            .context("cannot read a dead letter")?;
        Ok(rows.into_iter().next().map(decode_dead_letter))
    }

    async fn mark_replayed(&self, id: i64) -> anyhow::Result<()> {
        let _writer = self.write_guard().await;
        let binds = [
            Bind::Int(now_millis()),
            Bind::Text(&self.name),
            Bind::Int(id),
        ];
        DB::execute_on(&self.pool, DB::DIALECT.dead_letter_mark_replayed, &binds)
            .await
            .context("cannot mark a dead letter replayed")?;
        Ok(())
    }

    async fn parked(&self) -> anyhow::Result<u64> {
        let binds = [Bind::Text(&self.name)];
        let count = DB::integer_on(&self.pool, DB::DIALECT.dead_letter_count, &binds)
            .await
            .context("cannot count dead letters")?;
        Ok(count.unwrap_or(0) as u64)
    }
}

#[async_trait]
impl<DB: Backend> DocumentSql for SqlStore<DB> {
    type Tx = Tx<DB>;
    const DEFINE_COUNTER: &'static str = DB::DIALECT.counter_define;
    const COUNTERS_READ: &'static str = DB::DIALECT.counters_read;

    fn statement(sql: &str) -> String {
        documents::numbered(sql, DB::DIALECT.placeholder)
    }

    async fn texts(&self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<String>, sqlx::Error> {
        DB::texts_on(&self.pool, sql, binds).await
    }

    async fn integer(&self, sql: &str, binds: &[Bind<'_>]) -> Result<Option<i64>, sqlx::Error> {
        DB::integer_on(&self.pool, sql, binds).await
    }

    async fn pairs(
        &self,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<(i64, String)>, sqlx::Error> {
        DB::pairs_on(&self.pool, sql, binds).await
    }

    async fn execute(&self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, sqlx::Error> {
        let _writer = self.write_guard().await;
        DB::execute_on(&self.pool, sql, binds).await
    }

    async fn migrate_kernel(&self) -> anyhow::Result<()> {
        SqlStore::<DB>::migrate_kernel(self).await
    }

    async fn begin_caused(&self, cause: Option<&Cause>) -> anyhow::Result<Option<Tx<DB>>> {
        match cause {
            Some(cause) => self.begin_caused_by(cause).await,
            None => self.begin().await.map(Some),
        }
    }
}

#[async_trait]
impl<DB: Backend> DocumentTx for Tx<DB> {
    async fn execute(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<u64, sqlx::Error> {
        self.exec(sql, binds).await
    }

    async fn integer(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Option<i64>, sqlx::Error> {
        self.scalar(sql, binds).await
    }

    async fn append(&mut self, event: NewEvent) -> anyhow::Result<()> {
        self.publish(event).await.map(|_| ())
    }

    async fn finish(self) -> anyhow::Result<()> {
        self.commit().await
    }

    async fn abandon(self) -> anyhow::Result<()> {
        self.rollback().await
    }
}

#[async_trait]
impl<DB: Backend> ReadinessCheck for SqlStore<DB> {
    fn name(&self) -> &'static str {
        "store"
    }

    async fn check(&self) -> anyhow::Result<()> {
        self.ping().await
    }
}
