"""The hall's schema, as sqlite-utils migrations: add a function, never edit an applied one."""

from sqlite_utils import Migrations

migrations = Migrations("goiso")


@migrations()
def m001_hall(db):
    db.executescript(
        """
        CREATE TABLE fields (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            position INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE queues (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            number_format TEXT NOT NULL DEFAULT 'prefix'
                CHECK (number_format IN ('prefix', 'block', 'plain')),
            prefix TEXT NOT NULL DEFAULT '',
            digits INTEGER NOT NULL DEFAULT 3 CHECK (digits BETWEEN 1 AND 6),
            block INTEGER,
            priority_policy TEXT CHECK (priority_policy IN ('strict', 'interleave')),
            interleave_every INTEGER CHECK (interleave_every >= 1),
            issue_from TEXT,
            issue_until TEXT,
            daily_limit INTEGER CHECK (daily_limit >= 1),
            service_minutes REAL NOT NULL DEFAULT 5 CHECK (service_minutes > 0),
            position INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE procedures (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            field_id INTEGER NOT NULL REFERENCES fields(id),
            queue_code TEXT NOT NULL REFERENCES queues(code),
            position INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE clerks (
            id INTEGER PRIMARY KEY,
            login TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            pin_hash TEXT NOT NULL,
            role TEXT NOT NULL DEFAULT 'clerk' CHECK (role IN ('clerk', 'supervisor', 'admin')),
            active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE counters (
            number INTEGER PRIMARY KEY CHECK (number >= 1),
            name TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paused', 'closed')),
            select_mode TEXT NOT NULL DEFAULT 'oldest' CHECK (select_mode IN ('oldest', 'ordered')),
            clerk_id INTEGER REFERENCES clerks(id),
            current_ticket_id INTEGER REFERENCES tickets(id)
        );
        CREATE TABLE counter_queues (
            counter_number INTEGER NOT NULL REFERENCES counters(number) ON DELETE CASCADE,
            queue_code TEXT NOT NULL REFERENCES queues(code) ON DELETE CASCADE,
            position INTEGER NOT NULL DEFAULT 0,
            weight REAL NOT NULL DEFAULT 1 CHECK (weight > 0),
            PRIMARY KEY (counter_number, queue_code)
        );
        CREATE TABLE kiosks (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE boards (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            queues TEXT NOT NULL DEFAULT '[]',
            counters TEXT NOT NULL DEFAULT '[]'
        );
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            counter_number INTEGER NOT NULL REFERENCES counters(number) ON DELETE CASCADE,
            token_hash TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL,
            revoked_at REAL
        );
        CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            day TEXT NOT NULL,
            issued_queue TEXT NOT NULL REFERENCES queues(code),
            seq INTEGER NOT NULL CHECK (seq >= 1),
            number TEXT NOT NULL,
            queue_code TEXT NOT NULL REFERENCES queues(code),
            procedure_code TEXT REFERENCES procedures(code),
            priority TEXT CHECK (priority IN
                ('elderly', 'disability', 'pregnancy', 'war_invalid', 'other')),
            status TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN
                ('waiting', 'called', 'done', 'no_show', 'cancelled', 'expired')),
            issued_at REAL NOT NULL,
            order_at REAL NOT NULL,
            called_at REAL,
            finished_at REAL,
            counter_number INTEGER REFERENCES counters(number),
            target_counter INTEGER REFERENCES counters(number),
            clerk_id INTEGER REFERENCES clerks(id),
            outcome TEXT,
            recalls INTEGER NOT NULL DEFAULT 0,
            transfers INTEGER NOT NULL DEFAULT 0,
            kiosk_id TEXT,
            printed INTEGER,
            token TEXT NOT NULL UNIQUE,
            request_key TEXT UNIQUE,
            UNIQUE (day, issued_queue, seq)
        );
        CREATE INDEX tickets_day_number ON tickets (day, number);
        CREATE INDEX tickets_waiting ON tickets (queue_code, status, order_at);
        CREATE INDEX tickets_day_status ON tickets (day, status);
        CREATE TABLE queue_days (
            day TEXT NOT NULL,
            queue_code TEXT NOT NULL REFERENCES queues(code),
            normal_streak INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, queue_code)
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            day TEXT NOT NULL,
            kind TEXT NOT NULL,
            ticket_id INTEGER REFERENCES tickets(id),
            counter_number INTEGER,
            clerk_id INTEGER,
            queue_code TEXT,
            data TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_day_kind ON events (day, kind);
        CREATE INDEX events_ticket ON events (ticket_id);
        -- The event log is append-only: statistics and screens are rebuilt from it.
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
        """
    )


@migrations()
def m002_waiting_indexes(db):
    # What every issue and call asks (who is ahead, whose turn is next, what was sent to this
    # counter, how long the last services took) answered from an index alone, instead of
    # reading ticket rows one by one.  Replaces tickets_waiting (queue_code, status, order_at),
    # which could not tell the day, the priority or the target counter.
    db.executescript(
        """
        DROP INDEX IF EXISTS tickets_waiting;
        CREATE INDEX tickets_queue_state
            ON tickets (queue_code, day, status, priority, target_counter, order_at);
        CREATE INDEX tickets_targeted ON tickets (target_counter, day)
            WHERE status = 'waiting' AND target_counter IS NOT NULL;
        CREATE INDEX tickets_finished ON tickets (queue_code, day, finished_at)
            WHERE status = 'done';
        """
    )


@migrations()
def m003_printing_and_devices(db):
    # Why a ticket did not print (shown to staff beside the reprint and cancel buttons), and
    # the last known state of every device of the hall: printers now, keypads and LED
    # displays later.  A device's history is in the event log (kind device_state).
    db.executescript(
        """
        ALTER TABLE tickets ADD COLUMN print_error TEXT;
        CREATE INDEX tickets_unprinted ON tickets (day, printed) WHERE printed = 0;
        CREATE TABLE devices (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            place TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL,
            ready INTEGER NOT NULL DEFAULT 0,
            detail TEXT NOT NULL DEFAULT '',
            changed_at REAL NOT NULL,
            seen_at REAL NOT NULL
        );
        """
    )


@migrations()
def m004_ratings(db):
    # One satisfaction rating per ticket, tied to what was rated: the counter, the clerk who
    # served, the procedure and queue; the labels in force then are kept with it.
    db.executescript(
        """
        CREATE TABLE ratings (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL UNIQUE REFERENCES tickets(id),
            day TEXT NOT NULL,
            at REAL NOT NULL,
            counter_number INTEGER NOT NULL,
            clerk_id INTEGER REFERENCES clerks(id),
            procedure_code TEXT,
            queue_code TEXT NOT NULL,
            level INTEGER NOT NULL CHECK (level >= 1),
            levels INTEGER NOT NULL CHECK (levels >= level),
            label TEXT NOT NULL,
            source TEXT NOT NULL
        );
        CREATE INDEX ratings_day_counter ON ratings (day, counter_number);
        CREATE INDEX tickets_counter_finished ON tickets (counter_number, day, finished_at);
        """
    )


@migrations()
def m005_board_notice(db):
    # A line of text a board scrolls under the calls (opening hours, a holiday, a closed counter).
    db.executescript("ALTER TABLE boards ADD COLUMN notice TEXT NOT NULL DEFAULT '';")


@migrations()
def m006_print_expected(db):
    # Whether a ticket was handed to a printer when it was issued: after a restart, only such a
    # ticket with no news from the printer was cut short. A ticket issued through the API for a
    # phone, or on a kiosk screen with no printer, never printed and is not a failure. Open
    # kiosk tickets of before this migration were all sent to their kiosk's printer.
    db.executescript(
        """
        ALTER TABLE tickets ADD COLUMN print_expected INTEGER NOT NULL DEFAULT 0;
        UPDATE tickets SET print_expected = 1
            WHERE kiosk_id IS NOT NULL AND printed IS NULL AND status IN ('waiting', 'called');
        """
    )


@migrations()
def m007_back_office(db):
    # What the back office needs: settings set in the browser (one row per table and key,
    # a JSON value, over the settings file), names in English and search words for the
    # kiosk, counters that can be deactivated (history refers to them), and the dossier codes
    # a clerk records when finishing a ticket.
    db.executescript(
        """
        CREATE TABLE hall_settings (
            section TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            changed_at REAL NOT NULL,
            changed_by INTEGER REFERENCES clerks(id),
            PRIMARY KEY (section, key)
        );
        ALTER TABLE fields ADD COLUMN name_en TEXT NOT NULL DEFAULT '';
        ALTER TABLE procedures ADD COLUMN name_en TEXT NOT NULL DEFAULT '';
        ALTER TABLE procedures ADD COLUMN keywords TEXT NOT NULL DEFAULT '';
        ALTER TABLE counters ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
        CREATE TABLE dossiers (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES tickets(id),
            code TEXT NOT NULL,
            day TEXT NOT NULL,
            at REAL NOT NULL,
            counter_number INTEGER,
            clerk_id INTEGER,
            UNIQUE (ticket_id, code)
        );
        CREATE INDEX dossiers_day ON dossiers (day);
        """
    )


@migrations()
def m008_report_rollups(db):
    # Reports read daily rollups: per business day, grouping (all, field, procedure, queue,
    # counter, clerk, hour) and key, the counts and every wait and service time in
    # milliseconds (sorted, packed), so percentiles stay exact; built from the log for closed
    # days and kept when ticket rows are purged, so old ranges still report.
    # ``report_state`` remembers how far the log was read.  The log may
    # lose events only through a purge opened in the same transaction (``purges.open``), and
    # only those of tickets older than the purge's day.
    db.executescript(
        """
        CREATE TABLE report_rollups (
            day TEXT NOT NULL,
            dimension TEXT NOT NULL,
            key TEXT NOT NULL,
            issued INTEGER NOT NULL,
            served INTEGER NOT NULL,
            no_show INTEGER NOT NULL,
            cancelled INTEGER NOT NULL,
            transferred INTEGER NOT NULL,
            dossiers INTEGER NOT NULL,
            rated INTEGER NOT NULL,
            satisfied INTEGER NOT NULL,
            ratings BLOB NOT NULL,
            waits BLOB NOT NULL,
            services BLOB NOT NULL,
            PRIMARY KEY (dimension, day, key)
        ) WITHOUT ROWID;
        CREATE TABLE report_days (
            day TEXT PRIMARY KEY,
            built_at REAL NOT NULL,
            tickets INTEGER NOT NULL
        );
        CREATE TABLE report_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_event_id INTEGER NOT NULL,
            open_day TEXT NOT NULL
        );
        CREATE TABLE purges (
            id INTEGER PRIMARY KEY,
            before_day TEXT NOT NULL,
            at REAL NOT NULL,
            open INTEGER NOT NULL DEFAULT 0
        );
        DROP TRIGGER events_no_delete;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            WHEN NOT EXISTS (SELECT 1 FROM purges WHERE open = 1 AND
                             (SELECT day FROM tickets WHERE id = OLD.ticket_id) < before_day)
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
        """
    )


@migrations()
def m009_bulk(db):
    # A day closed early by a supervisor (bulk "close_day"): no ticket is issued on it until
    # staff reopen it; the next business day is open again by itself.
    db.executescript(
        """
        CREATE TABLE closed_days (
            day TEXT PRIMARY KEY,
            at REAL NOT NULL,
            clerk_id INTEGER REFERENCES clerks(id),
            reason TEXT NOT NULL DEFAULT ''
        );
        """
    )


@migrations()
def m010_signin(db):
    # Wrong PINs per login and per client address (hall/signin.py): how many since the last
    # lock or right PIN, until when the next try must wait (a growing delay, or a lock when
    # ``locked_at`` is set), and how many locks so far (each next one is longer).
    db.executescript(
        """
        CREATE TABLE signin_failures (
            scope TEXT NOT NULL CHECK (scope IN ('login', 'address')),
            key TEXT NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0,
            last_failed_at REAL NOT NULL,
            blocked_until REAL NOT NULL DEFAULT 0,
            locked_at REAL,
            locks INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (scope, key)
        ) WITHOUT ROWID;
        -- How many digits a clerk's PIN has (set with the PIN, or learnt at a right PIN; NULL
        -- until then): the catalogue shows PINs shorter than [security] min_pin_length.
        ALTER TABLE clerks ADD COLUMN pin_digits INTEGER;
        -- When a counter's API token was last used (noted at most once an hour per token).
        ALTER TABLE api_tokens ADD COLUMN last_used_at REAL;
        """
    )


@migrations()
def m011_issue_limits(db):
    # Issue limits (hall/limits.py): the address a public ticket was asked from, so the tickets
    # a kiosk or an address took in the last minute are counted from the tickets themselves;
    # and a supervisor's extension of a queue's numbers for one day.
    db.executescript(
        """
        ALTER TABLE tickets ADD COLUMN client TEXT;
        CREATE INDEX tickets_kiosk_issued ON tickets (kiosk_id, issued_at)
            WHERE kiosk_id IS NOT NULL;
        CREATE INDEX tickets_client_issued ON tickets (client, issued_at)
            WHERE client IS NOT NULL;
        CREATE TABLE number_extensions (
            day TEXT NOT NULL,
            queue_code TEXT NOT NULL REFERENCES queues(code),
            extra INTEGER NOT NULL,
            at REAL NOT NULL,
            clerk_id INTEGER REFERENCES clerks(id),
            PRIMARY KEY (day, queue_code)
        );
        DROP INDEX events_day_kind;  -- the same, and the limits' refusals by time
        CREATE INDEX events_day_kind ON events (day, kind, at);
        """
    )


@migrations()
def m012_hub_push(db):
    # Where this hall's push to its province hub stands (one row): the last event the hub
    # acknowledged, the last success and the error of the last failure, if it still fails;
    # the newest catalogue version the province offers, and the one this hall applied.
    db.executescript(
        """
        CREATE TABLE hub_push (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            acked_seq INTEGER NOT NULL DEFAULT 0,
            last_success_at REAL,
            last_attempt_at REAL,
            error TEXT,
            error_since REAL,
            catalogue_offered INTEGER,
            catalogue_applied INTEGER,
            catalogue_error TEXT
        );
        INSERT INTO hub_push (id) VALUES (1);
        """
    )
