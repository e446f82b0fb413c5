-- bounced schema, version 3: what was read of the returned original besides its Message-ID.
--
-- The sender's own tags in the mail that bounced (X-Campaign-ID, X-Customer, ...) let an
-- application tie a bounce or a complaint to a campaign or an account without a VERP tag;
-- From, To and Subject help an operator see which mail it was. NULL when the report returned
-- no original, or the original lacked the field. Tables only: the views are unchanged.

ALTER TABLE messages ADD COLUMN original_from TEXT;
ALTER TABLE messages ADD COLUMN original_to TEXT;
ALTER TABLE messages ADD COLUMN original_subject TEXT;
-- "X-Name: value" lines, one per field, as found (at most LIMIT_FIELD_BYTES in all).
ALTER TABLE messages ADD COLUMN original_x_tags TEXT;
