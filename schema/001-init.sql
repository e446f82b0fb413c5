-- bounced schema, version 1. Applied by store_open / `bounced db migrate` in one BEGIN IMMEDIATE
-- transaction; PRAGMA user_version records it. Times are unix seconds (UTC) in the tables and
-- ISO 8601 text ("2026-11-22T15:04:05Z") in the views.
--
-- The views `suppressed` and `bounce_events` are the application's API: their columns are never
-- renamed or removed without a new migration and a note in README.md.
--
-- Addresses: `address` is as found (domain lowercased by the parsers), `address_key` is the
-- lookup key: the local part as is, the domain lowercased (store_address_key()).

PRAGMA application_id = 1651471726;	-- 'boun' in ASCII: tells a bounced database from others

-- Each message taken in, parsed or not.
CREATE TABLE messages (
	id		INTEGER PRIMARY KEY,
	source		TEXT NOT NULL,		-- "lmtp", "imap:ACCOUNT/MAILBOX", a path, "-"
	received_at	INTEGER NOT NULL,
	envelope_rcpt	TEXT,
	envelope_sender	TEXT,
	queue_id	TEXT,
	message_id	TEXT,			-- Message-ID of the bounce itself
	original_message_id TEXT,		-- Message-ID of the returned original
	sha256		TEXT NOT NULL,		-- hex SHA-256 of the raw bytes taken in
	size		INTEGER NOT NULL,	-- bytes taken in
	kind		TEXT NOT NULL,		-- dsn, arf, autoreply, heuristic, none ('' when unparsed)
	flags		INTEGER NOT NULL DEFAULT 0,	-- BOUNCE_F_* of report.h
	outcome		TEXT NOT NULL CHECK (outcome IN ('parsed', 'unparsed', 'truncated')),
	rcpt_set	TEXT NOT NULL DEFAULT '',	-- sorted recipient keys, for duplicate detection
	verp_address	TEXT,
	verp_tag	TEXT,
	verp_verified	INTEGER,		-- NULL when no VERP was present
	raw		BLOB			-- NULL once older than [store] keep_raw_days
);
CREATE UNIQUE INDEX messages_sha256 ON messages (sha256);
CREATE INDEX messages_message_id ON messages (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX messages_raw_age ON messages (received_at) WHERE raw IS NOT NULL;

-- One row per recipient of each message.
CREATE TABLE events (
	id		INTEGER PRIMARY KEY,
	message		INTEGER NOT NULL REFERENCES messages (id),
	address		TEXT NOT NULL,
	address_key	TEXT NOT NULL,
	occurred_at	INTEGER NOT NULL,
	class		TEXT NOT NULL,		-- hard, soft, complaint, autoreply, none
	reason		TEXT NOT NULL,		-- DESIGN.md reason table
	blame		TEXT NOT NULL,		-- recipient, sender, network, unknown, ''
	action		TEXT NOT NULL DEFAULT '',
	status		TEXT NOT NULL DEFAULT '',
	smtp_code	TEXT NOT NULL DEFAULT '',
	diagnostic	TEXT,
	remote_mta	TEXT,
	feedback_type	TEXT,
	original_address TEXT,			-- the report's own address when a verified VERP won
	verp_address	TEXT,
	verp_tag	TEXT,
	verp_verified	INTEGER,		-- NULL when no VERP was present
	effect		TEXT NOT NULL		-- what the policy did: suppressed, scored, none,
						-- unverified, duplicate-day, after-lift, kept,
						-- not-an-address
);
CREATE INDEX events_address ON events (address_key, occurred_at);
CREATE INDEX events_occurred ON events (occurred_at);
CREATE INDEX events_message ON events (message);

-- Current suppression state, one row per address ever suppressed. A lifted row keeps its
-- history (lifted_at); a newer event can suppress the address again.
CREATE TABLE suppressions (
	address_key	TEXT PRIMARY KEY,
	address		TEXT NOT NULL,
	type		TEXT NOT NULL CHECK (type IN ('hard', 'soft', 'complaint', 'manual')),
	reason		TEXT NOT NULL,
	since		INTEGER NOT NULL,
	expires_at	INTEGER,		-- NULL: until removed
	event		INTEGER REFERENCES events (id),	-- NULL for manual
	lifted_at	INTEGER,		-- set by `suppress remove`
	lifted_by	TEXT
) WITHOUT ROWID;
CREATE INDEX suppressions_since ON suppressions (since);

-- Recipient-blamed soft bounces: at most one point per address per day.
CREATE TABLE soft_scores (
	address_key	TEXT PRIMARY KEY,
	score		INTEGER NOT NULL,
	last_day	INTEGER NOT NULL,	-- days since the epoch (UTC) of the last point
	last_at		INTEGER NOT NULL	-- time of the last soft bounce
) WITHOUT ROWID;

-- Manual changes: `suppress add` and `suppress remove`.
CREATE TABLE audit (
	id		INTEGER PRIMARY KEY,
	at		INTEGER NOT NULL,
	action		TEXT NOT NULL CHECK (action IN ('add', 'remove')),
	address		TEXT NOT NULL,
	address_key	TEXT NOT NULL,
	reason		TEXT,
	actor		TEXT
);
CREATE INDEX audit_address ON audit (address_key);

-- API: one row per currently suppressed address. Look up with
--   SELECT type, reason FROM suppressed WHERE address = ?
-- passing the address with its domain lowercased (the primary key index is used).
CREATE VIEW suppressed (address, type, reason, since, expires_at) AS
	SELECT address_key, type, reason,
		strftime('%Y-%m-%dT%H:%M:%SZ', since, 'unixepoch'),
		strftime('%Y-%m-%dT%H:%M:%SZ', expires_at, 'unixepoch')
	FROM suppressions
	WHERE lifted_at IS NULL
	  AND (expires_at IS NULL OR expires_at > CAST(strftime('%s', 'now') AS INTEGER));

-- API: every recipient event, newest last. message_id is the Message-ID of the bounce.
CREATE VIEW bounce_events (address, class, reason, status, smtp_code, diagnostic, occurred_at,
		message_id) AS
	SELECT e.address_key, e.class, e.reason, e.status, e.smtp_code, e.diagnostic,
		strftime('%Y-%m-%dT%H:%M:%SZ', e.occurred_at, 'unixepoch'), m.message_id
	FROM events e JOIN messages m ON m.id = e.message;
