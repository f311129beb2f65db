"""The ``goiso`` command: serve the hall, set it up, import catalogues, make tokens, back up."""

import functools
import sys

import click

import settings as settings_module
from hall import Hall, HallError
from services import configuration


def hall_options(command):
    """Give a command --data-dir and --config, and pass it the loaded settings. The command's
    own options named like a [server] key (serve's --host and --port) are settings too: they
    go through the same checks as the file, and the command gets only the settings."""

    @click.option("--config", "config_file", envvar="GOISO_CONFIG",
                  help="TOML settings file (see goiso.example.toml).")
    @click.option("--data-dir", help="Folder of the hall's database and secrets (default: var/).")
    @functools.wraps(command)
    def wrapper(config_file, data_dir, **kwargs):
        flags = {key: kwargs.pop(key) for key in list(kwargs) if key in settings_module.SERVER_KEYS}
        try:
            settings = settings_module.load(config_file, data_dir=data_dir, **flags)
        except settings_module.SettingsError as exc:
            for problem in exc.problems:
                click.echo(problem, err=True)
            click.echo("goiso dừng lại: hãy sửa cấu hình như trên rồi chạy lại.", err=True)
            raise click.exceptions.Exit(2) from None
        return command(settings, **kwargs)

    return wrapper


def open_hall(settings) -> Hall:
    """Open (creating or upgrading) the hall database named by the settings, following the
    rules set in the browser too."""
    return configuration.open_hall(settings)[0]


@click.group()
def cli():
    """goiso: queue tickets for a public service hall."""


@cli.command()
@hall_options
@click.option("--demo", is_flag=True, help="Describe the demo hall and print PINs and tokens.")
def init(settings, demo):
    """Create (or upgrade) the hall database."""
    hall = open_hall(settings)
    settings.flask_config()  # makes the session secret if the folder has none
    click.echo(f"Cơ sở dữ liệu: {settings.database_path}")
    if demo:
        _print_demo(settings, _seed(hall))
    hall.close()


@cli.command("import-procedures")
@hall_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--create-queues", is_flag=True, help="Create queues the file names but the hall"
              " does not have yet.")
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
def import_procedures(settings, file, create_queues, dry_run):
    """Import procedures from CSV or XLSX (columns: code, field, name, queue)."""
    hall = open_hall(settings)
    try:
        report = hall.catalogue.import_procedures(file, create_queues=create_queues,
                                                  dry_run=dry_run)
    except HallError as exc:
        raise click.ClickException(str(exc)) from None
    if not report.ok:
        for line, reason in report.errors:
            click.echo(f"dòng {line}: {reason}", err=True)
        raise click.ClickException(f"{len(report.errors)} dòng lỗi; không nhập gì cả.")
    for code in report.queues_created:
        click.echo(f"+ hàng đợi {code}")
    for code in report.added:
        click.echo(f"+ {code}")
    for code, columns in report.updated:
        click.echo(f"~ {code}: {', '.join(columns)}")
    for code in report.deactivated:
        click.echo(f"- {code}: ngừng dùng")
    for code in report.missing:
        click.echo(f"? {code}: có trong sảnh, không có trong tệp (giữ nguyên)")
    verb = "Sẽ" if dry_run else "Đã"
    click.echo(f"{verb} thêm {len(report.added)}, sửa {len(report.updated)}, giữ nguyên"
               f" {len(report.unchanged)} thủ tục.")


@cli.command()
@hall_options
@click.option("--counter", type=int, required=True, help="Counter number.")
@click.option("--revoke", is_flag=True, help="Revoke the counter's existing tokens first.")
def token(settings, counter, revoke):
    """Print a new API token for a counter's devices (stored hashed; shown only now)."""
    hall = open_hall(settings)
    try:
        if revoke:
            click.echo(f"Đã thu hồi {hall.accounts.revoke_tokens(counter)} mã cũ.", err=True)
        click.echo(hall.accounts.new_token(counter))
    except HallError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@hall_options
@click.argument("key")
@click.option("--address", is_flag=True, help="KEY is a client address, not a login.")
def unlock(settings, key, address):
    """Lift a sign-in lock of a login (or a client address) after wrong PINs (audited)."""
    hall = open_hall(settings)
    try:
        hall.signin.unlock("address" if address else "login", key, None)
    except HallError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Đã mở khóa đăng nhập cho {key}.")


@cli.command()
@hall_options
@click.argument("login")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["clerk", "supervisor", "admin"]), default="clerk")
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True,
              help="6–12 digits by default, [security] min_pin_length (asked for when not given).")
def clerk(settings, login, name, role, pin):
    """Create a clerk or change a clerk's name, role or PIN."""
    hall = open_hall(settings)
    try:
        hall.accounts.put_clerk(login, name=name, pin=pin, role=role)
    except HallError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Đã lưu nhân viên {login} ({role}).")


@cli.command()
@hall_options
@click.argument("dest", required=False, type=click.Path(dir_okay=False))
@click.option("--to", "folder", type=click.Path(file_okay=False),
              help="Folder of the backups (default: [backup] or <data_dir>/backups).")
@click.option("--keep", type=click.IntRange(1, 1000), default=None,
              help="Backups to keep in the folder (default: [backup] keep).")
def backup(settings, dest, folder, keep):
    """Back the live database up (SQLite's online backup API, safe while the hall works),
    verify the copy, keep the newest ones; with DEST, copy to that one file instead."""
    from services import backups

    database = settings.database_path
    if not database.exists():
        raise click.ClickException(f"chưa có cơ sở dữ liệu {database}: chạy goiso init trước.")
    try:
        if dest:
            hall = Hall.open(database, settings.rules)
            try:
                hall.store.backup(dest)
            finally:
                hall.close()
            backups.verify(dest)
            click.echo(f"Đã sao lưu vào {dest}")
            return
        made = backups.make(database, to=folder, keep=keep or settings.backup.keep,
                            copy_to=settings.backup.copy_to)
    except backups.BackupError as exc:
        raise click.ClickException(f"sao lưu thất bại: {exc}") from None
    click.echo(f"Đã sao lưu vào {made.path} (lược đồ {made.schema}, đã kiểm tra toàn vẹn)")
    for old in made.removed:
        click.echo(f"Đã xóa bản sao lưu cũ {old.name}")
    if made.copied_to:
        click.echo(f"Đã chép sang {made.copied_to}")
    if made.copy_problem:
        click.echo(f"Cảnh báo: {made.copy_problem}", err=True)


@cli.command()
@hall_options
@click.argument("file", type=click.Path(dir_okay=False))
def restore(settings, file):
    """Replace the hall's database by a backup FILE (checked first; the current database is
    backed up before). Stop the server first."""
    from services import backups

    try:
        schema, before = backups.restore(settings.database_path, file, keep=settings.backup.keep)
    except backups.BackupError as exc:
        raise click.ClickException(f"không khôi phục: {exc}. Cơ sở dữ liệu không đổi.") from None
    if before:
        click.echo(f"Bản hiện tại đã được sao lưu vào {before.path}")
    click.echo(f"Đã khôi phục {file} (lược đồ {schema}) vào {settings.database_path}")


@cli.command()
@hall_options
def check(settings):
    """Check this machine for the technician: config, database, printers, serial ports, disk,
    clock; exit status 1 when any check fails."""
    from services import checks

    done = checks.run(settings)
    for one in done:
        click.echo(one.line())
    if not all(one.ok for one in done):
        raise click.exceptions.Exit(1)


@cli.command()
@hall_options
def purge(settings):
    """Purge tickets (and their events) older than [rules] keep_tickets_days; reports keep
    their figures."""
    hall = open_hall(settings)
    try:
        hall.reports.refresh()
        done = hall.retention.purge()
    finally:
        hall.close()
    if done["before_day"] is None:
        click.echo("keep_tickets_days = 0: giữ mọi phiếu, không xóa gì.")
    else:
        click.echo(f"Đã xóa {done['tickets']} phiếu và {done['events']} sự kiện trước ngày"
                   f" {done['before_day']}.")


@cli.command("rebuild-reports")
@hall_options
def rebuild_reports(settings):
    """Rebuild the report rollups of every closed day from the event log."""
    hall = open_hall(settings)
    try:
        written = hall.reports.rebuild()
    finally:
        hall.close()
    click.echo(f"Đã dựng lại số liệu báo cáo của {written} phiếu.")


@cli.command()
@hall_options
@click.argument("number")
@click.argument("counter", type=click.IntRange(1, 9999))
@click.option("--out", type=click.Path(dir_okay=False), help="Also copy the audio (WAV) here.")
def announce(settings, number, counter, out):
    """Print the spoken call for NUMBER at COUNTER and make its audio (test the speakers)."""
    import shutil

    from display.calls import audio, folders, words
    from display.voice import VoiceError

    voice = settings.voice
    try:
        click.echo(words(voice, number.strip().upper(), counter))
        path = audio(voice, *folders(settings.data_dir, voice), number.strip().upper(), counter)
    except (ValueError, VoiceError) as exc:
        raise click.ClickException(str(exc)) from None
    if out:
        shutil.copyfile(path, out)
        path = out
    click.echo(f"Âm thanh: {path}")


@cli.command()
@hall_options
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, help="Port (default 8080).")
@click.option("--demo", is_flag=True, help="Serve the demo hall; print PINs and tokens.")
def serve(settings, demo):
    """Serve the hall (one gevent process, or gunicorn if configured), start the background
    work."""
    from hall.store import MigrationFailed
    from services import systemd

    try:
        hall = open_hall(settings)
    except MigrationFailed as exc:
        systemd.notify(f"STATUS={exc}")
        click.echo(f"goiso dừng lại: {exc}", err=True)
        raise click.exceptions.Exit(3) from None
    if demo:
        _print_demo(settings, _seed(hall))
    hall.close()
    settings.secret_key = settings.flask_config()["SECRET_KEY"]
    click.echo(f"goiso: mở http://{settings.host}:{settings.port}/  (Ctrl+C để dừng)")
    import serving
    from services import backups

    lock = backups.serving_lock(settings.database_path)  # noqa: F841 - held until exit
    systemd.claim()  # the server itself, not gunicorn's arbiter, says READY=1 to systemd
    serving.serve(settings)


def _seed(hall):
    from hall.demo import seed

    return seed(hall)


def _print_demo(settings, info):
    base = f"http://{settings.host}:{settings.port}"
    click.echo("Sảnh mẫu — nhân viên và mã PIN (mỗi lần chạy một mã mới):")
    for login, name, role in info["clerks"]:
        click.echo(f"  {login:10} {info['pins'][login]}  {name} ({role})")
    click.echo("Mã truy cập API của các quầy (Authorization: Bearer …):")
    for number, value in info["tokens"].items():
        click.echo(f"  quầy {number}: {value}")
    click.echo(f"Trang đầu: {base}/   API: {base}/api/v1/openapi.json")


def main() -> None:  # pragma: no cover
    sys.exit(cli())


if __name__ == "__main__":  # pragma: no cover
    main()


# -- the province hub ----------------------------------------------------------------------------

@cli.group()
def hub():
    """The province hub on PostgreSQL: serve it, add halls and staff."""


DSN = click.option("--dsn", required=True, envvar="GOISO_HUB_DSN",
                   help="PostgreSQL connection string, e.g. postgresql://goiso@db/hub"
                        " (or $GOISO_HUB_DSN).")


@hub.command("serve")
@DSN
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8090, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Processes; about 2 per CPU core (docs/hub.md).")
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--pool-size", type=click.IntRange(1, 256), default=8, show_default=True,
              help="PostgreSQL connections of each worker.")
@click.option("--secure-cookies/--no-secure-cookies", default=False, show_default=True,
              envvar="GOISO_HUB_SECURE_COOKIES",
              help="Staff session cookies only over HTTPS (set it behind an HTTPS proxy).")
@click.option("--keep-days", type=click.IntRange(1, 3660), default=35, show_default=True,
              help="Days kept a row per event; older ones are packed (docs/hub.md).")
def hub_serve(dsn, host, port, workers, threads, pool_size, secure_cookies, keep_days):
    """Serve the hub (migrations run first)."""
    from hub.serving import serve

    serve(dsn, host, port, workers=workers, threads=threads, pool_size=pool_size,
          secure_cookies=secure_cookies, keep_days=keep_days)


@hub.command("migrate")
@DSN
def hub_migrate(dsn):
    """Bring the hub's schema up to date."""
    import psycopg

    from hub.schema import migrate

    with psycopg.connect(dsn, autocommit=True) as conn:
        applied = migrate(conn)
    click.echo("applied: " + (", ".join(applied) or "nothing (up to date)"))


@hub.command("add-hall")
@DSN
@click.option("--name", required=True, help="The hall's name, as the province calls it.")
@click.option("--timezone", default="Asia/Ho_Chi_Minh", show_default=True)
def hub_add_hall(dsn, name, timezone):
    """Register a hall: print its id and token (shown once; the hub keeps only a hash)."""
    import psycopg

    from hub.halls import add_hall
    from hub.schema import migrate

    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        try:
            hall_id, token = add_hall(conn, name, timezone)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(f"hall_id = {hall_id}")
    click.echo(f'token = "{token}"')
    click.echo("Put both in the hall's [hub] settings; the token is not shown again.")


@hub.command("add-user")
@DSN
@click.argument("login")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["supervisor", "admin"]), default="supervisor",
              show_default=True)
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True,
              help="6 to 12 digits.")
def hub_add_user(dsn, login, name, role, pin):
    """Create a province staff account."""
    import psycopg

    from hub.accounts import add_user
    from hub.schema import migrate

    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        try:
            user = add_user(conn, login, name, role, pin)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        except psycopg.errors.UniqueViolation:
            raise click.UsageError(f"login {login} exists already") from None
    click.echo(f"user {login} ({role}) = {user}")


@hub.command("publish-catalogue")
@DSN
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--note", default="", help="What changed, for the halls' admins.")
def hub_publish_catalogue(dsn, file, note):
    """Publish a new version of the province's procedure catalogue (CSV or XLSX)."""
    from pathlib import Path

    import psycopg

    from hall.errors import HallError
    from hub.catalogue import publish
    from hub.schema import migrate

    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        try:
            published = publish(conn, Path(file).read_bytes(), Path(file).name, note)
        except HallError as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(f"catalogue version {published['version']}: {published['procedures']}"
               " procedures")


@hub.command("pack-events")
@DSN
@click.option("--keep-days", type=click.IntRange(0, 3660), default=35, show_default=True,
              help="Days kept a row per event; older ones are packed.")
def hub_pack_events(dsn, keep_days):
    """Pack the events of closed days (older than --keep-days) into one row per hall and
    day, now (goiso hub serve does it every hour)."""
    import psycopg

    from hub.packing import pack_closed
    from hub.schema import migrate

    moved = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        while done := pack_closed(conn, keep_days):
            moved += done
    click.echo(f"events packed: {moved}")


@hub.command("rebuild-reports")
@DSN
@click.option("--hall", "halls", type=int, multiple=True, help="Only this hall (repeatable).")
def hub_rebuild_reports(dsn, halls):
    """Recount every ticket's fact and every rollup of the halls from their stored events,
    then the province's rows of the days that changed."""
    import psycopg

    from hub.facts import rebuild_hall
    from hub.province import build_stale
    from hub.schema import migrate

    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        for hall in halls or [r[0] for r in conn.execute("SELECT id FROM halls ORDER BY id")]:
            click.echo(f"hall {hall}: {rebuild_hall(conn, hall)} tickets")
        click.echo(f"province days rebuilt: {build_stale(conn, quiet_seconds=0)}")
