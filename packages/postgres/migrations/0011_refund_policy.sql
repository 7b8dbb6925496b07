-- What a refund of a pack gives back: 'unspent' (the share of the price its unspent credits
-- represent, the rule of prepaid-credit billing systems) or 'full' (the whole price).
-- A purchase keeps the rule it was sold under; those sold before this column were refunded in full.
ALTER TABLE credit_packs ADD COLUMN IF NOT EXISTS refund_policy text NOT NULL DEFAULT 'unspent' CHECK (refund_policy IN ('unspent', 'full'));
ALTER TABLE purchases ADD COLUMN IF NOT EXISTS refund_policy text NOT NULL DEFAULT 'full' CHECK (refund_policy IN ('unspent', 'full'));
