-- bounced schema, version 2: the views compare addresses ignoring case.
--
-- Version 1's views compared `address` byte for byte, so an application that asked for
-- 'joe@Example.COM' was told the address was not suppressed unless it lowercased the domain
-- itself. Now `address` in both views carries COLLATE NOCASE: `WHERE address = ?` matches
-- whatever the case of the domain (DESIGN.md) and of the local part. The local part is folded
-- too, as Postfix's own lookup tables do: RFC 5321 discourages relying on its case, and for a
-- suppression list matching more is the safe side. NOCASE folds ASCII letters only; domains in
-- Unicode are compared as bounced stored them (lowercased by the parsers).
--
-- Column names, order and meaning are unchanged (README.md, schema/README.md). The indexes
-- below are what the views' lookups use. events_address served only the view (bounced's own
-- queries never look events up by address): it is replaced, so an event costs no more index
-- writes than before. The primary keys stay for bounced's own lookups.

CREATE INDEX suppressions_address_nocase ON suppressions (address_key COLLATE NOCASE);
DROP INDEX events_address;
CREATE INDEX events_address_nocase ON events (address_key COLLATE NOCASE, occurred_at);
-- `bounced suppress check` and `remove` match as the view does, and reset every variant's score.
CREATE INDEX soft_scores_address_nocase ON soft_scores (address_key COLLATE NOCASE);

DROP VIEW suppressed;
CREATE VIEW suppressed (address, type, reason, since, expires_at) AS
	SELECT address_key COLLATE NOCASE, type, reason,
		strftime('%Y-%m-%dT%H:%M:%SZ', since, 'unixepoch'),
		strftime('%Y-%m-%dT%H:%M:%SZ', expires_at, 'unixepoch')
	FROM suppressions
	WHERE lifted_at IS NULL
	  AND (expires_at IS NULL OR expires_at > CAST(strftime('%s', 'now') AS INTEGER));

DROP VIEW bounce_events;
CREATE VIEW bounce_events (address, class, reason, status, smtp_code, diagnostic, occurred_at,
		message_id) AS
	SELECT e.address_key COLLATE NOCASE, e.class, e.reason, e.status, e.smtp_code,
		e.diagnostic, strftime('%Y-%m-%dT%H:%M:%SZ', e.occurred_at, 'unixepoch'), m.message_id
	FROM events e JOIN messages m ON m.id = e.message;
