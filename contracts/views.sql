-- Analyst views over the warehouse's base views (schemas canonical, recon, quality).
-- Executed by finance_pipeline/warehouse.py after it (re)creates the base views, so they always
-- read the latest state. Only base views are referenced, so this file also runs on a fresh
-- install where the recon tables are still empty. Money stays DECIMAL(18,4) throughout.

-- Open exceptions per owner and age bucket (the buckets of the month-end close pack).
CREATE OR REPLACE VIEW recon.open_exceptions_by_owner_age AS
SELECT
    owner_role,
    CASE
        WHEN age_days <= 7 THEN '0-7'
        WHEN age_days <= 30 THEN '8-30'
        WHEN age_days <= 60 THEN '31-60'
        ELSE '61+'
    END AS age_bucket,
    exception_type,
    severity,
    currency,
    count(*) AS open_count,
    sum(amount) AS amount,
    max(age_days) AS oldest_days
FROM recon.exceptions
WHERE status = 'open'
GROUP BY ALL
ORDER BY owner_role, min(age_days), exception_type, currency;

-- Cash received but not (fully) applied, per customer: open cash-application exceptions on
-- payments and customer bank credits. The customer is the payment's own customer id, else the
-- one matching inferred (named in the exception detail); unknown payers are grouped by name.
CREATE OR REPLACE VIEW recon.unapplied_cash_by_customer AS
WITH customers AS (
    SELECT customer_id, arg_max(name, business_date) AS customer_name
    FROM canonical.customers
    GROUP BY customer_id
),
cash AS (
    SELECT
        e.exception_id,
        e.exception_type,
        e.entity,
        e.currency,
        e.amount,
        e.age_days,
        coalesce(
            p.customer_id,
            nullif(regexp_extract(e.detail, 'customer_id ([^;[:space:]]+)', 1), '')
        ) AS customer_id,
        coalesce(p.payer_name, b.counterparty_name,
                 nullif(regexp_extract(e.detail, 'payer ([^;]+)', 1), '')) AS payer
    FROM recon.exceptions AS e
    LEFT JOIN canonical.payments AS p
        ON e.record_type = 'payments' AND p.payment_id = e.record_id
    LEFT JOIN canonical.bank_transactions AS b
        ON e.record_type = 'bank_transactions' AND b.transaction_id = e.record_id
    WHERE e.status = 'open'
      AND e.workflow = 'cash_application'
      AND e.record_type IN ('payments', 'bank_transactions')
      AND e.exception_type IN ('unapplied_cash', 'unmatched_payment', 'unknown_customer',
                               'amount_variance', 'duplicate_payment', 'missing_reference')
      AND e.detail NOT LIKE '%applied by rule%'
)
SELECT
    cash.customer_id,
    coalesce(customers.customer_name, any_value(cash.payer)) AS customer_name,
    cash.entity,
    cash.currency,
    count(*) AS payments,
    sum(cash.amount) AS unapplied_amount,
    max(cash.age_days) AS oldest_days,
    string_agg(DISTINCT cash.exception_type, ', ' ORDER BY cash.exception_type) AS exception_types
FROM cash
LEFT JOIN customers USING (customer_id)
GROUP BY cash.customer_id, customers.customer_name, cash.entity, cash.currency
ORDER BY unapplied_amount DESC;

-- Entities whose books do not balance per currency: the ERP's journal lines as delivered, and
-- the journal proposals still to import (superseded ones excluded). Empty when all is well.
CREATE OR REPLACE VIEW recon.unbalanced_entities AS
SELECT
    'gl_journal_lines' AS source,
    entity_id AS entity,
    currency,
    sum(debit) AS debit,
    sum(credit) AS credit,
    sum(debit) - sum(credit) AS difference,
    count(DISTINCT journal_id) AS journals
FROM canonical.gl_journal_lines
GROUP BY ALL
HAVING sum(debit) <> sum(credit)
UNION ALL
SELECT
    'journal_proposals' AS source,
    entity,
    currency,
    sum(debit),
    sum(credit),
    sum(debit) - sum(credit),
    count(DISTINCT journal_id)
FROM recon.journal_proposals
WHERE status <> 'superseded'
GROUP BY ALL
HAVING sum(debit) <> sum(credit)
ORDER BY source, entity, currency;

-- Bank against ledger per bank account: the latest stated closing balance against the balance
-- of the account's cash GL account. A difference is what bank reconciliation must explain.
CREATE OR REPLACE VIEW recon.unreconciled_cash AS
WITH accounts AS (
    SELECT account_number,
           arg_max(entity_id, business_date) AS entity_id,
           arg_max(currency, business_date) AS currency,
           arg_max(gl_account, business_date) AS gl_account
    FROM canonical.bank_accounts
    GROUP BY account_number
),
closing AS (
    SELECT account_number, arg_max(amount, as_of) AS bank_balance, max(as_of) AS as_of
    FROM canonical.bank_balances
    WHERE kind = 'closing'
    GROUP BY account_number
),
ledger AS (
    SELECT entity_id, gl_account, currency, sum(debit) - sum(credit) AS ledger_balance
    FROM canonical.gl_journal_lines
    GROUP BY ALL
)
SELECT
    a.entity_id AS entity,
    a.account_number,
    a.currency,
    a.gl_account,
    c.as_of,
    coalesce(c.bank_balance, 0) AS bank_balance,
    coalesce(l.ledger_balance, 0) AS ledger_balance,
    coalesce(c.bank_balance, 0) - coalesce(l.ledger_balance, 0) AS difference
FROM accounts AS a
LEFT JOIN closing AS c USING (account_number)
LEFT JOIN ledger AS l
    ON l.entity_id = a.entity_id AND l.gl_account = a.gl_account AND l.currency = a.currency
ORDER BY entity, account_number;

-- Match rate per day and workflow: of the records known to the workflow that day, the share
-- settled by an automatic match with no open exception. A match counts from the day it was
-- first made (created_at), an exception from first_seen until resolved_on; suggested matches
-- and exceptions are what still needs a person.
CREATE OR REPLACE VIEW recon.match_rate_by_day AS
WITH members AS (
    SELECT m.workflow, CAST(m.created_at AS DATE) AS made_on, m.status,
           mm.record_type || ':' || mm.record_id AS record
    FROM recon.matches AS m
    JOIN recon.match_members AS mm USING (match_id)
),
days AS (
    SELECT DISTINCT made_on AS day FROM members
    UNION
    SELECT DISTINCT first_seen FROM recon.exceptions WHERE workflow <> 'ingest'
    UNION
    SELECT DISTINCT last_seen FROM recon.exceptions WHERE workflow <> 'ingest'
),
states AS (
    SELECT d.day, m.workflow, m.record, CASE WHEN m.status = 'auto' THEN 1 ELSE 0 END AS auto
    FROM days AS d
    JOIN members AS m ON m.made_on <= d.day
    UNION ALL
    SELECT d.day, e.workflow, e.record_type || ':' || e.record_id, 0
    FROM days AS d
    JOIN recon.exceptions AS e
        ON e.workflow <> 'ingest'
       AND e.first_seen <= d.day
       AND (e.resolved_on IS NULL OR e.resolved_on > d.day)
),
per_record AS (
    SELECT day, workflow, record, min(auto) AS auto
    FROM states
    GROUP BY ALL
)
SELECT
    day,
    workflow,
    count(*) AS records,
    count(*) FILTER (WHERE auto = 1) AS auto_matched,
    count(*) FILTER (WHERE auto = 0) AS needs_review,
    round(count(*) FILTER (WHERE auto = 1) / count(*), 4) AS auto_match_rate
FROM per_record
GROUP BY day, workflow
ORDER BY day, workflow;
