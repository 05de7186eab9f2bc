-- One reservation's statements in the reservation service's PostgreSQL store (prod profile), as
-- `log_statement = all` showed them: create the reservation with its keys and its event, the
-- relay's pass, load it again, record the payment's outcome with its event, the relay's pass.
-- Same statements, same commits, same row sizes (state ~460 bytes, envelope ~580); `kind` is
-- 'pgbench' so a run never meets a service's rows. scripts/measure.sh runs it as the bound.
\set n random(1, 2000000000)
\set c random(1, 1000)
BEGIN;
INSERT INTO msa_aggregates (kind, id, version, state, created_at, updated_at) VALUES ('pgbench', 'r' || :client_id || '-' || :n, 1, repeat('s', 460), 0, 0);
INSERT INTO msa_keys (kind, key_name, key_value, id, score) VALUES ('pgbench', 'customer', 'c' || :c, 'r' || :client_id || '-' || :n, 0);
INSERT INTO msa_keys (kind, key_name, key_value, id, score) VALUES ('pgbench', 'status', 'PaymentPending', 'r' || :client_id || '-' || :n, -1);
INSERT INTO msa_outbox (event_id, subject, event_type, envelope, created_at) VALUES (gen_random_uuid()::text, 'r' || :client_id || '-' || :n, 'pgbench.requested.v1', repeat('e', 580), 0) RETURNING position AS requested \gset
COMMIT;
SELECT position, envelope FROM msa_outbox WHERE published_at IS NULL ORDER BY position LIMIT 256;
UPDATE msa_outbox SET published_at = 1 WHERE position IN (:requested);
SELECT state FROM msa_aggregates WHERE kind = 'pgbench' AND id = 'r' || :client_id || '-' || :n;
BEGIN;
UPDATE msa_aggregates SET version = 2, state = repeat('t', 470), updated_at = 1 WHERE kind = 'pgbench' AND id = 'r' || :client_id || '-' || :n AND version = 1;
DELETE FROM msa_keys WHERE kind = 'pgbench' AND key_name = 'status' AND key_value = 'PaymentPending' AND id = 'r' || :client_id || '-' || :n;
INSERT INTO msa_outbox (event_id, subject, event_type, envelope, created_at) VALUES (gen_random_uuid()::text, 'r' || :client_id || '-' || :n, 'pgbench.reserved.v1', repeat('e', 580), 0) RETURNING position AS reserved \gset
COMMIT;
SELECT position, envelope FROM msa_outbox WHERE published_at IS NULL ORDER BY position LIMIT 256;
UPDATE msa_outbox SET published_at = 1 WHERE position IN (:reserved);
