-- Bumped in the same transaction as every change to a customer's plan state
-- (attach, switch, activation, customer update). The API stamps each usage
-- event with the version it priced the event under (docs/metering.md).
ALTER TABLE customers ADD COLUMN IF NOT EXISTS context_version bigint NOT NULL DEFAULT 0;
