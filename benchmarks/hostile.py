"""The hostile-input trial: the ``tailor`` command run as a shop's new data engineer (and an attacker) would run
it, on messy files and hostile config, each case in its own warehouse, then counted.

    python -m benchmarks.run hostile                    # every case; writes results/hostile.{json,md}
    python -m benchmarks.run hostile --cases run-dates  # some of them

For every case the table says what was tried, whether it was handled (the expected exit code, the rows in
the expected place, nothing personal where it must not be), the rows lost (records in the input that are
neither accepted nor quarantined: must be 0) and the stack traces shown (lines of a Python or Java trace on
stderr: must be 0). Every command runs in a fresh process through the installed ``tailor`` entry point, so
what is measured is what a user sees. The checks read the warehouses afterwards with one Spark session.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = "2026-11-23"
KEY = "hostile-trial-key-4f1d9c"
"""The pseudonymisation key of the trial: the sandbox cases check it never shows."""
TRACE = re.compile(r'^\s+at [\w$.]+\(|^Traceback \(most recent call last\)|^\s+File ".*", line \d+|^py4j\.'
                   r'|\\n\\tat [\w$.]+\(')
"""A line of a Java or Python trace, or a JSON log line carrying one (escaped)."""


@dataclass
class Run:
    argv: list[str]
    code: int
    err: str
    seconds: float

    @property
    def traces(self) -> int:
        return sum(1 for line in self.err.splitlines() if TRACE.search(line))

    @property
    def tailor_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("tailor:")]

    def said(self, width: int = 120) -> str:
        """The exit code, the time and the one line the user was told (or stderr's end)."""
        told = self.tailor_lines[0][:width] if self.tailor_lines else self.err[-200:]
        return f"exit {self.code} in {self.seconds:.1f} s: {told}"


@dataclass
class Outcome:
    klass: str
    case: str
    tried: str
    handled: bool
    detail: str
    rows_lost: int | None = None
    runs: list[Run] = field(default_factory=list)

    @property
    def traces(self) -> int:
        return sum(r.traces for r in self.runs)


def tailor(work: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    """One ``tailor`` command in a fresh process, local mode, the trial's warehouse under ``work``."""
    argv = [str(Path(sys.executable).parent / "tailor"), *args, "--conf", str(ROOT / "conf" / "local.yaml"),
            "--set", f"warehouse={work / 'wh'}", "--set", f"spark.jars_dir={ROOT / '.jars'}",
            "--set", f"checkpoint_dir={work / 'ckpt'}"]
    e = dict(os.environ, TAILOR_PSEUDONYM_KEY=KEY)
    e.update(env or {})
    e = {k: v for k, v in e.items() if v is not None}
    t = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, env=e, cwd=work)
    return Run(argv[1:], p.returncode, p.stderr, time.perf_counter() - t)


def records(path: Path, encoding: str = "utf-8") -> int:
    """Records of an RFC-4180 file, header excluded, counted by Python's csv module (not by Tailor)."""
    csv.field_size_limit(sys.maxsize)  # the 1 MB id
    with open(path, newline="", encoding=encoding, errors="replace") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def yaml_overlay(work: Path, name: str, data: dict) -> str:
    f = work / name
    f.write_text(json.dumps(data))  # JSON is YAML
    return str(f)


# --- the shop files ------------------------------------------------------------------------------------

MESSY_EVENTS = (
    "\ufeffuser,sku,when,kind,qty,unit,note\r\n"
    'U1,P1,2026-11-20 10:00:00,view,,,"a ""quoted"", note"\r\n'
    'U1 ,P1,2026-11-20 10:00:00,View,,,"a ""quoted"", note"\r\n'     # the same event, padded, another case
    'U2,P2,2026-11-20 11:00:00,purchase,1,NaN,"two\nlines"\r\n'        # NaN price, a quoted newline
    "U3,P3,2026-11-20 11:00:00,purchase,1,Infinity,x\r\n"
    "U3,P3,2026-11-20 11:05:00,purchase,1,-Infinity,x\r\n"
    "U4,P4,2026-11-20 11:00:00,purchase,2,1e308,x\r\n"
    "U4,P4,2026-11-20 11:10:00,purchase,1e300,1e300,x\r\n"             # quantity x price is infinite
    "U5,P\u00005,2026-11-20 11:00:00,view,,,x\r\n"                      # NUL in an id
    "U5,P\u00075,2026-11-20 11:00:00,view,,,x\r\n"                      # BEL in an id
    "U\ufffd6,P6,2026-11-20 11:00:00,view,,,x\r\n"                      # a byte mis-decoded upstream
    f"{'U' * 1_000_000},P7,2026-11-20 11:00:00,view,,,x\r\n"          # a 1 MB id
    "U8,P8\r\n"                                                         # too few columns
    "U9,P9,2026-11-20 11:00:00,view,,,x,extra\r\n"                      # too many
    'U11,P11,2026-11-20 12:00:00,view,,,"cr\rinside"\r\n'              # a bare CR inside quotes
    "U10,P10,2026-11-20 12:00:00,purchase,1,2.5,ok\r\n"
)
MESSY_PRODUCTS = (
    "\ufeffProduct ID,Title,Unit Price\n"
    'P1,"Mug ""Classic"", 12oz",3.5\n'
    "P2,Tea,NaN\n"
    ",No id,1\n"
    "P10,Plate,2.5\n"
)
MESSY_CUSTOMERS = (
    "cid,mail,customer_name,street_address,opt\n"
    "U1,ann@example.com,Ann Example,1 Main Street,yes\n"
    ",bob@example.com,Bob Example,2 High Street,yes\n"           # no id: quarantined, redacted
    "U10,cy@example.com,Cy Example,3 Low Road,maybe\n"           # a bad boolean: quarantined, redacted
    "U2,dee@example.com,Dee Example,4 Side Lane,no\n"
)
PERSONAL = ("ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com", "Ann Example",
            "Bob Example", "Cy Example", "Dee Example", "1 Main Street", "2 High Street", "3 Low Road",
            "4 Side Lane")


def _messy_conf(work: Path, events: Path, products: Path | None = None, customers: Path | None = None,
                **events_extra) -> str:
    csvs: dict = {"events": {"path": str(events), "mapping": {
        "user_id": "user", "item_id": "sku", "ts": "when", "event_type": "kind", "quantity": "qty",
        "price": "unit", "order_id": "concat(trim(user), '-', when)"}, **events_extra}}
    if products:
        csvs["products"] = {"path": str(products), "mapping": {"product_id": "Product ID", "title": "Title",
                                                                "price": "Unit Price"}}
    if customers:
        csvs["customers"] = {"path": str(customers), "mapping": {
            "customer_id": "cid", "email": "mail", "marketing_opt_in": "opt"}}
    return yaml_overlay(work, "shop.yaml", {"ingest": {"source": "csv", "max_reject_ratio": 1},
                                            "sources": {"csv": csvs}})


def _shop_events(n_users: int = 40, n_items: int = 25, days: int = 60) -> str:
    """A small healthy shop, seeded: views and purchases over ``days`` days, two customers with only a return,
    and ALICE, the customer the purge case forgets."""
    import random

    rnd = random.Random(7)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["user", "sku", "when", "kind", "qty", "unit", "order"])
    users = [f"C{u:03d}" for u in range(n_users)] + ["ALICE-7Q"]
    for i, u in enumerate(users):
        for j in range(12 if u == "ALICE-7Q" else rnd.randint(4, 20)):
            item = f"I{rnd.randint(0, n_items - 1):02d}"
            day = 1 + rnd.randint(0, days - 1)
            ts = f"2026-{9 + day // 31:02d}-{1 + day % 30:02d} {rnd.randint(8, 21):02d}:{rnd.randint(0, 59):02d}:00"
            kind = "purchase" if j % 3 == 0 else "view"
            w.writerow([u, item, ts, kind, "1" if kind == "purchase" else "",
                        f"{rnd.randint(2, 40)}.99" if kind == "purchase" else "",
                        f"O{i}-{j}" if kind == "purchase" else ""])
    for u in ("RET1", "RET2"):  # customers whose only line is a return
        w.writerow([u, "I01", "2026-10-10 10:00:00", "return", "1", "9.99", f"R-{u}"])
    return out.getvalue()


SHOP_EVENTS_MAPPING = {"user_id": "user", "item_id": "sku", "ts": "when", "event_type": "kind", "quantity": "qty",
                       "price": "unit", "order_id": "order"}
"""How :func:`_shop_events`' columns fill the contract."""
SHOP_CUSTOMERS = ("cid,mail,opt\n" + "".join(f"C{u:03d},c{u}@shop.example,yes\n" for u in range(40))
                  + "ALICE-7Q,alice.q@private.example,yes\nRET1,r1@shop.example,yes\nRET2,r2@shop.example,no\n")


# --- the cases -----------------------------------------------------------------------------------------

def case_messy_csv(work: Path, spark) -> list[Outcome]:
    ev, pr, cu = work / "events.csv", work / "products.csv", work / "customers.csv"
    ev.write_text(MESSY_EVENTS, encoding="utf-8")
    pr.write_text(MESSY_PRODUCTS, encoding="utf-8")
    cu.write_text(MESSY_CUSTOMERS, encoding="utf-8")
    r = tailor(work, "ingest", "--run-date", RUN, "--conf", _messy_conf(work, ev, pr, cu))
    m = _metrics(spark, work, "ingest")
    out = []
    lost = {e: records(f) - m.get(f"accepted.{e}", 0) - sum(
        v for k, v in m.items() if k.startswith(f"quarantined.{e}.")) for e, f in
        (("events", ev), ("products", pr), ("customers", cu))}
    reasons = {k.split(".", 1)[1]: v for k, v in m.items() if k.startswith("quarantined.")}
    wh = _wh(spark, work)
    ev_rows = sorted((x.user_id, x.item_id, x.event_type) for x in wh.read("events").collect())
    titles = {x.product_id: x.title for x in wh.read("products").collect()}
    rfc = (r.code == 0 and ("U11", "P11", "view") in ev_rows and titles.get("P1") == 'Mug "Classic", 12oz'
           and reasons.get("events.wrong_column_count") == 2)
    out.append(Outcome("4 CSV", "messy-csv", "BOM, CRLF, doubled quotes, a quoted newline, a bare CR in quotes, "
                       "a product header with spaces", rfc,
                       f"exit {r.code}; P1 title {titles.get('P1')!r}; U11 (bare CR) accepted as one row",
                       int(sum(lost.values())), [r]))
    amounts = wh.read("orders").selectExpr("amount").collect()
    finite = bool(amounts) and all(a.amount is not None and abs(a.amount) < 1e9 for a in amounts)
    nums = reasons.get("events.bad_number", 0)
    out.append(Outcome("5 numbers", "messy-csv", "NaN, +Infinity, -Infinity, 1e308, 1e300 x 1e300 in events; "
                       "NaN product price", finite and nums == 5 and reasons.get("products.bad_number") == 1,
                       f"events bad_number {nums}, products bad_number {reasons.get('products.bad_number')}; "
                       f"{len(amounts)} order amounts, all finite: {finite}", 0, []))
    ident = (("U1", "P1", "view") in ev_rows and reasons.get("events.duplicate") == 1
             and reasons.get("events.bad_text") == 3 and reasons.get("events.too_long") == 1
             and m.get("unmapped_columns.events") == 1)
    out.append(Outcome("6 identity", "messy-csv", "'U1 ,..,View' beside 'U1,..,view'; NUL, BEL and U+FFFD in "
                       "ids; a 1 MB id; an extra column; a short row", ident,
                       f"duplicate {reasons.get('events.duplicate')}, bad_text {reasons.get('events.bad_text')}, "
                       f"too_long {reasons.get('events.too_long')}, wrong_column_count "
                       f"{reasons.get('events.wrong_column_count')}, unmapped_columns "
                       f"{m.get('unmapped_columns.events')}", 0, []))
    leaks = _personal_in(spark, work, PERSONAL, skip=("bronze_",))
    q = {x.reason for x in wh.read("quarantine").where("entity = 'customers'").collect()}
    out.append(Outcome("3 personal data", "messy-csv", "customers file mapping `email: mail`, with "
                       "`customer_name` and `street_address` columns; two customer rows quarantined",
                       not leaks and {"missing_customer_id", "bad_boolean"} <= q,
                       f"quarantine reasons {sorted(q)}; raw values outside bronze: {leaks or 'none'}", 0, []))
    return out


def case_latin1(work: Path, spark) -> list[Outcome]:
    f = work / "latin1.csv"
    f.write_bytes("user,sku,when,kind,qty,unit\nZoë,P1,2026-11-20 10:00:00,view,,\n"
                  "Ann,P2,2026-11-20 10:00:00,view,,\n".encode("latin-1"))
    a = tailor(work / "a", "ingest", "--run-date", RUN, "--conf", _messy_conf(_mk(work / "a"), f))
    ma = _metrics(spark, work / "a", "ingest")
    b = tailor(work / "b", "ingest", "--run-date", RUN, "--conf",
               _messy_conf(_mk(work / "b"), f, encoding="ISO-8859-1"))
    mb = _metrics(spark, work / "b", "ingest")
    users = sorted(x.user_id for x in _wh(spark, work / "b").read("events").collect())
    ok = ma.get("quarantined.events.bad_text") == 1 and ma.get("accepted.events") == 1 and users == ["Ann", "Zoë"]
    lost = (2 - ma.get("accepted.events", 0) - ma.get("quarantined.events.bad_text", 0)) + (
        2 - mb.get("accepted.events", 0))
    return [Outcome("6 identity", "latin-1", "a Latin-1 file read as UTF-8, then with `encoding: ISO-8859-1`",
                    ok, f"undeclared: bad_text {ma.get('quarantined.events.bad_text')}; declared: users {users}",
                    lost, [a, b])]


HOSTILE_RULES = [
    ("reflect-key", "reflect('java.lang.System', 'getenv', 'TAILOR_PSEUDONYM_KEY') = 'x'"),
    ("reflect-cast", "cast(reflect('java.lang.System', 'getenv', 'TAILOR_PSEUDONYM_KEY') AS int) > 0"),
    ("java-exit", "java_method('java.lang.System', 'exit', 3) = 0"),
    ("read-file", "(SELECT max(value) FROM text.`/etc/hostname`) = 'x'"),
    ("other-warehouse", "EXISTS (SELECT * FROM delta.`/tmp/other/silver/quarantine`)"),
    ("raise-error", "raise_error('boom') IS NULL"),
    ("udf", "my_udf(frequency) > 1"),
    ("nondeterministic", "rand() > 0.5"),
    ("lambda", "exists(array(1), x -> reflect('java.lang.System', 'exit', 1) = '0')"),
]


def case_sandbox(work: Path, spark) -> list[Outcome]:
    out = []
    for name, rule in HOSTILE_RULES:
        w = _mk(work / name)
        conf = yaml_overlay(w, "rules.yaml", {"campaigns": {"definitions": [
            {"name": "probe", "rule": rule, "offers": 0}]}})
        r = tailor(w, "campaign", "--run-date", RUN, "--conf", conf)
        clean = r.code == 2 and len(r.tailor_lines) == 1 and KEY not in r.err and "probe" in r.err
        out.append(Outcome("2 rules", f"rule-{name}", f"`{rule}`", clean,
                           r.said(110), None, [r]))
    return out


def case_shop(work: Path, spark) -> list[Outcome]:
    """A small healthy shop through ingest, features, segments, similarity, stream, a campaign whose allowed rule
    fails at run time, record-sends of a messy export, and forget --purge."""
    ev, cu = work / "events.csv", work / "customers.csv"
    ev.write_text(_shop_events())
    cu.write_text(SHOP_CUSTOMERS)
    conf = yaml_overlay(work, "shop.yaml", {
        "ingest": {"source": "csv"},
        "sources": {"csv": {"events": {"path": str(ev), "mapping": SHOP_EVENTS_MAPPING},
                            "customers": {"path": str(cu), "mapping": {"customer_id": "cid", "email": "mail",
                                                        "marketing_opt_in": "opt"}}}},
        "segments": {"k_min": 2, "k_max": 3},
        "campaigns": {"external": ["spring"], "definitions": [
            {"name": "probe", "rule": "cast(segment AS int) > 0 OR frequency > 0", "offers": 0}]}})
    c = ("--run-date", RUN, "--conf", conf)
    runs = {j: tailor(work, j, *c) for j in ("ingest", "features", "segments", "similarity", "stream")}
    out = []
    feats = _runs_row(spark, work, "features")
    prof = _wh(spark, work).read("segment_profiles").where("segment_id = -1").collect()
    share = [round(p.revenue_share, 4) for p in prof]
    ok = (all(r.code == 0 for r in runs.values()) and feats is not None and feats.rows_in is not None
          and prof and all(s >= 0 for s in share))
    out.append(Outcome("8 edges", "small-shop", "41 customers over 60 days plus two whose only line is a return: "
                       "ingest, features, segments, similarity, stream", ok,
                       "exits " + ", ".join(f"{j} {r.code}" for j, r in runs.items())
                       + f"; features rows_in {feats.rows_in if feats else None}; 'no purchase yet' revenue share "
                       f"{share}", records(ev) - _metrics(spark, work, "ingest").get("accepted.events", 0), list(
                           runs.values())))
    # an allowed rule that fails at run time: the error is one line, scrubbed, in stderr and in runs
    r = tailor(work, "campaign", *c)
    row = _runs_row(spark, work, "campaign")
    err = (row.error or "") if row else ""
    ok = (r.code == 1 and row is not None and row.status == "failed" and len(r.tailor_lines) == 1
          and err and "\n" not in err and KEY not in r.err + err)
    out.append(Outcome("2 rules", "rule-runtime", "an allowed rule failing at run time (`cast(segment AS int) > 0` "
                       "on segment names such as 'champions': Spark 4's ANSI mode refuses the cast)", ok,
                       f"exit {r.code}; runs.status {row.status if row else None}; error: {err[:120]!r}", None, [r]))
    # record-sends: a messy provider export
    sends = work / "sends.csv"
    sends.write_text("\n".join([
        "campaign,customer_id,sent_at,arm",
        "spring,C001,2026-10-01,treatment",
        "spring,C001,2026-10-01 18:00,control",         # both arms one day
        "spring,C002,2026-10-01,control",
        "spring,NOBODY,2026-10-01,treatment",
        "autumn,C003,2026-10-01,treatment",
        "spring,C004,0001-01-01,treatment",
        'spring,"C005,x",2026-10-01,treatment,extra',
        'spring,C006,"2026-10-01",treatment',
    ]) + "\n")
    s1 = tailor(work, "record-sends", *c, "--file", str(sends))
    wh = _wh(spark, work)
    q = sorted(x.reason for x in wh.read("quarantine").where("source = 'sends'").collect())
    hist = sorted((x.user_id, x.arm) for x in wh.read("contact_history").collect())
    ok = (s1.code == 0 and hist == [("C002", "control"), ("C006", "treatment")]
          and q == ["arm_conflict", "arm_conflict", "before_first_event", "unknown_campaign", "unknown_customer",
                    "wrong_column_count"])
    out.append(Outcome("7 record-sends", "sends-export", "treatment and control on one day, an unknown customer "
                       "and campaign, sent_at 0001-01-01, a ragged row", ok,
                       f"quarantine {q}; contact_history {hist}",
                       records(sends) - len(hist) - len(q), [s1]))
    byemail = work / "sends-email.csv"
    byemail.write_text("campaign,email,sent_at,first_name\nspring, C7@Shop.Example ,2026-10-02,Quentinx\n"
                       "spring,stranger@else.example,2026-10-02,Stranger Danger\n")
    s2 = tailor(work, "record-sends", *c, "--run-date", "2026-11-24", "--file", str(byemail))
    leaks = _personal_in(spark, work, ("stranger@else.example", "Stranger Danger", "Quentinx", "C7@Shop.Example"),
                         skip=("bronze_",))
    hist2 = {x.user_id for x in _wh(spark, work).read("contact_history").collect()}
    out.append(Outcome("3 personal data", "sends-by-email", "a provider export keyed by e-mail (case and padding) "
                       "with a first-name column", s2.code == 0 and "C007" in hist2 and not leaks,
                       f"C007 matched: {'C007' in hist2}; raw values stored: {leaks or 'none'}",
                       None, [s2]))
    # forget --purge, then look for the customer everywhere, independently of the job's own check
    f = tailor(work, "forget", *c, "--run-date", "2026-11-25", "--user-id", "ALICE-7Q", "--purge")
    from tailor.privacy.pseudonym import pseudonym

    needles = ("ALICE-7Q", "alice.q@private.example", pseudonym(KEY.encode(), "alice.q@private.example"))
    files = {f for hit in (on_disk(work / "wh", *needles, skip="forget_requests"), on_disk(work / "ckpt", *needles))
             for fs in hit.values() for f in fs}
    travel = _time_travel_finds(spark, work)
    fm = _metrics(spark, work, "forget")
    ok = f.code == 0 and not files and not travel
    out.append(Outcome("1 purge", "forget-purge", "forget --purge of a customer with events, orders, bronze e-mail, "
                       "features, similarities, stream state; then every file under the warehouse and the "
                       "checkpoints read (Parquet decoded, logs and state raw), and version 0 of every table",
                       ok, f"exit {f.code}; files holding the id, address or pseudonym: {len(files)}; "
                       f"old versions readable: {travel or 'none'}; deleted rows "
                       f"{sum(v for k, v in fm.items() if k.startswith('deleted.'))}", None, [f]))
    return out


RUN_DATES = ["9999-12-31", "0001-01-01", "2101-01-01", "2026-02-30", "yesterday"]


def case_run_dates(work: Path, spark) -> list[Outcome]:
    out = []
    for d in RUN_DATES:
        r = tailor(_mk(work / d), "features", "--run-date", d)
        out.append(Outcome("8 edges", f"run-date {d}", f"`tailor features --run-date {d}`",
                           r.code == 2 and len(r.tailor_lines) == 1 and r.seconds < 15,
                           r.said(200), None, [r]))
    return out


def case_config(work: Path, spark) -> list[Outcome]:
    ev = work / "events.csv"
    ev.write_text("user,sku,when,kind\nU1,P1,2026-11-20 10:00:00,view\n")
    nomap = yaml_overlay(work, "nomap.yaml", {"ingest": {"source": "csv"},
                                              "sources": {"csv": {"events": {"path": str(ev)}}}})
    r1 = tailor(_mk(work / "a"), "ingest", "--run-date", RUN, "--conf", nomap)
    r2 = tailor(_mk(work / "b"), "ingest", "--run-date", RUN, env={"TAILOR_PSEUDONYM_KEY": None})
    badcol = yaml_overlay(work, "badcol.yaml", {"ingest": {"source": "csv"}, "sources": {"csv": {"events": {
        "path": str(ev), "mapping": {"user_id": "customer", "item_id": "sku", "ts": "when", "event_type": "kind"}}}}})
    r3 = tailor(_mk(work / "c"), "ingest", "--run-date", RUN, "--conf", badcol)
    out = []
    for name, r, what in (("csv-no-mapping", r1, "a csv source without `mapping`"),
                          ("missing-key", r2, "ingest with TAILOR_PSEUDONYM_KEY unset"),
                          ("mapping-names-a-missing-column", r3, "a mapping naming a column the file lacks")):
        out.append(Outcome("8 edges", name, what, r.code == 2 and len(r.tailor_lines) == 1,
                           r.said(), None, [r]))
    return out


def case_concurrent(work: Path, spark) -> list[Outcome]:
    ev = work / "events.csv"
    ev.write_text(_shop_events(n_users=10))
    events = {"path": str(ev), "mapping": SHOP_EVENTS_MAPPING}
    conf = yaml_overlay(work, "c.yaml", {"ingest": {"source": "csv"}, "sources": {"csv": {"events": events}}})
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda _: tailor(work, "ingest", "--run-date", RUN, "--conf", conf), range(2))
    n, want = _wh(spark, work).read("events").count(), records(ev)
    accepted = _metrics(spark, work, "ingest").get("accepted.events", 0)
    return [Outcome("8 edges", "two-ingests-at-once", "two `tailor ingest` processes started together on a fresh "
                    "warehouse, same file and date", a.code == 0 and b.code == 0 and n == want,
                    f"exits {a.code}, {b.code}; events {n} (file {want}, accepted {accepted})", want - n, [a, b])]


CASES: dict[str, Callable] = {"messy-csv": case_messy_csv, "latin-1": case_latin1, "sandbox": case_sandbox,
                              "shop": case_shop, "run-dates": case_run_dates, "config": case_config,
                              "concurrent": case_concurrent}


# --- reading the warehouses ----------------------------------------------------------------------------

def _mk(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _wh(spark, work: Path):
    from tailor.config import load_config, warehouse

    cfg = load_config([str(ROOT / "conf" / "local.yaml")], [f"warehouse={work / 'wh'}"])
    return warehouse(spark, cfg)


def _runs_row(spark, work: Path, job: str):
    from pyspark.sql import functions as F

    wh = _wh(spark, work)
    if not wh.exists("runs"):
        return None
    return wh.read("runs").where(f"job = '{job}'").orderBy(F.desc("started_at")).first()


def _metrics(spark, work: Path, job: str) -> dict:
    row = _runs_row(spark, work, job)
    return dict(row.metrics or {}) if row else {}


def _personal_in(spark, work: Path, values, skip=()) -> list[str]:
    """``table: value`` for every raw personal value found in a table outside ``skip`` (any column, as JSON)."""
    from pyspark.sql import functions as F

    from tailor import tables

    wh = _wh(spark, work)
    found = []
    for name in tables.REGISTRY:
        if any(name.startswith(s) for s in skip) or not wh.exists(name):
            continue
        df = wh.read(name)
        text = F.lower(F.to_json(F.struct(*[F.col(f"`{c}`") for c in df.columns])))
        hit = df.agg(*[F.max(text.contains(v.lower())).alias(str(i)) for i, v in enumerate(values)]).first()
        found += [f"{name}: {v}" for i, v in enumerate(values) if hit[i]]
    return found


def on_disk(root: Path, *needles: str, skip: str | None = None) -> dict[str, list[str]]:
    """For each needle, the files under ``root`` (outside a folder named ``skip``) holding it: Parquet files by
    their decoded values (they are compressed), everything else (Delta logs, checksums, stream checkpoints) by
    its raw bytes. Needles found nowhere are left out."""
    import pyarrow.parquet as pq

    hits: dict[str, list[str]] = {}
    for f in root.rglob("*") if root.exists() else []:
        if not f.is_file() or (skip and skip in f.parts):
            continue
        data = (json.dumps(pq.read_table(f).to_pylist(), default=str, ensure_ascii=False).encode()
                if f.suffix == ".parquet" else f.read_bytes())
        for n in needles:
            if n.encode() in data:
                hits.setdefault(n, []).append(str(f))
    return hits


def _time_travel_finds(spark, work: Path) -> list[str]:
    """Tables whose version 0 can still be read (after a purge none of the customer tables' can)."""
    from tailor import tables

    wh = _wh(spark, work)
    found = []
    for name in list(tables.REGISTRY) + [tables.bronze_name("csv", e) for e in ("events", "customers")]:
        if not wh.exists(name) or (name in tables.REGISTRY
                                   and tables.spec(name).customer_columns == tables.NO_CUSTOMERS):
            continue
        try:
            wh.read(name, 0).limit(1).count()
            found.append(name)
        except Exception:
            pass
    return found


def markdown(outcomes: list[Outcome]) -> str:
    lines = ["| class | case | tried | handled | rows lost | stack traces | what happened |",
             "| --- | --- | --- | --- | ---: | ---: | --- |"]
    for o in outcomes:
        lost = "-" if o.rows_lost is None else str(int(o.rows_lost))
        detail = o.detail.replace("|", "\\|").replace("\n", " ")
        tried = o.tried.replace("|", "\\|")
        lines.append(f"| {o.klass} | {o.case} | {tried} | {'yes' if o.handled else '**no**'} | {lost} | "
                     f"{o.traces} | {detail} |")
    total_lost = sum(o.rows_lost or 0 for o in outcomes)
    lines += ["", f"{sum(o.handled for o in outcomes)} of {len(outcomes)} handled; rows lost {total_lost}; "
              f"stack-trace lines shown {sum(o.traces for o in outcomes)}."]
    return "\n".join(lines) + "\n"


def main(cases: list[str] | None = None, out: Path | None = None) -> list[Outcome]:
    from benchmarks.common import RESULTS, scratch
    from tailor.config import load_config
    from tailor.spark import get_spark

    spark = get_spark(load_config([str(ROOT / "conf" / "local.yaml")], [f"spark.jars_dir={ROOT / '.jars'}"]))
    outcomes: list[Outcome] = []
    with scratch("tailor-hostile-") as work:
        for name in cases or list(CASES):
            try:
                got = CASES[name](_mk(work / name), spark)
            except Exception as e:
                got = [Outcome("?", name, "the case's own checks", False, f"the trial failed: {e!s:.300}")]
            print("\n".join(markdown(got).splitlines()[2:-2]), flush=True)
            outcomes += got
    out = out or RESULTS
    out.mkdir(parents=True, exist_ok=True)
    (out / "hostile.md").write_text(markdown(outcomes))
    (out / "hostile.json").write_text(json.dumps([{
        "class": o.klass, "case": o.case, "handled": o.handled, "rows_lost": o.rows_lost, "traces": o.traces,
        "detail": o.detail, "runs": [{"argv": r.argv, "code": r.code, "seconds": round(r.seconds, 1),
                                      "stderr_tail": r.err[-2000:]} for r in o.runs]} for o in outcomes], indent=1))
    return outcomes
