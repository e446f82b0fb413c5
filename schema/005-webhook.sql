-- bounced schema, version 5: events taken from ESP webhooks (the HTTP listener of `serve`).
--
-- A provider's event is stored as a message: its raw JSON in `raw` (so the same retention,
-- [store] keep_raw_days, applies), `source` 'webhook:PROVIDER' ('webhook:ses', 'webhook:sendgrid'
-- ...), kind 'none', and one row in `events` per recipient, through the same policy.
-- `event_key` is the provider's own id of the event ('ses:' and the SNS MessageId, 'mailgun:'
-- and the signature token, 'postmark:' and the ID, 'sparkpost:' and event_id, 'postal:' and the
-- uuid; for SendGrid, Brevo and Mailjet, which give none that survives a retry, 'PROVIDER:sha256:'
-- and a hash of the event's content). It is unique: providers repeat events, and a repeat counts
-- once even across restarts, or several hosts writing one database. NULL for mail.
-- Tables only: the views' columns keep their names and meanings.

ALTER TABLE messages ADD COLUMN event_key TEXT;
CREATE UNIQUE INDEX messages_event_key ON messages (event_key) WHERE event_key IS NOT NULL;
