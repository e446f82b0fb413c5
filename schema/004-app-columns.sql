-- bounced schema, version 4: what an application needs to tie a bounce to what it sent, when the
-- failure happened, and the counts `bounced stats` explains.
--
-- bounce_events keeps its eight columns, names, order and meaning, and gains new ones after
-- them: failed_at (the time of the failure as the report states it: the DSN's
-- Last-Attempt-Date, else the bounce's Date, when plausible; else when bounced took it in -
-- occurred_at stays the time bounced took it in), original_message_id (the Message-ID of the
-- returned original: the mail the application sent), verp_tag (the tag of the VERP return
-- path), x_tags (the returned original's X- fields, "X-Name: value" lines: campaign or account
-- ids), blame and effect (what the policy did, and so why a bounce did not suppress).

-- Unix time; NULL for events recorded before version 4 (the view shows occurred_at then).
ALTER TABLE events ADD COLUMN failed_at INTEGER;

-- A message taken in again (Postfix re-delivery, a re-run fetch) is counted once; each repeat
-- is noted here so `bounced stats` can say how many there were.
CREATE TABLE duplicates (
	id		INTEGER PRIMARY KEY,
	message		INTEGER NOT NULL,	-- messages.id of the first copy
	at		INTEGER NOT NULL	-- when the repeat arrived
);
CREATE INDEX duplicates_at ON duplicates (at);

-- Pruning (`bounced db prune`, [store] keep_events_days) keeps the events suppressions point
-- at, and deletes messages by age.
CREATE INDEX suppressions_event ON suppressions (event) WHERE event IS NOT NULL;
CREATE INDEX messages_received ON messages (received_at);

DROP VIEW bounce_events;
CREATE VIEW bounce_events (address, class, reason, status, smtp_code, diagnostic, occurred_at,
		message_id, failed_at, original_message_id, verp_tag, x_tags, blame, effect) AS
	SELECT e.address_key COLLATE NOCASE, e.class, e.reason, e.status, e.smtp_code,
		e.diagnostic, strftime('%Y-%m-%dT%H:%M:%SZ', e.occurred_at, 'unixepoch'), m.message_id,
		strftime('%Y-%m-%dT%H:%M:%SZ', coalesce(e.failed_at, e.occurred_at), 'unixepoch'),
		m.original_message_id, e.verp_tag, m.original_x_tags, e.blame, e.effect
	FROM events e JOIN messages m ON m.id = e.message;
