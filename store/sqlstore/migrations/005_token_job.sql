-- A token may be scoped to one job (the token a scheduler hands the
-- attempt it starts); '' for a person's token.
ALTER TABLE tokens ADD COLUMN job TEXT NOT NULL DEFAULT '';
