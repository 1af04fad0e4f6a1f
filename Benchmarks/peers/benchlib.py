#!/usr/bin/env python3
"""Helpers for scripts/bench-peers (standard library only, but `chart` needs matplotlib).

  benchlib.py extract FILE                  HandshakeBench stdout -> one compact JSON line (exit 1 if none/failed)
  benchlib.py extract-hold FILE             same for an idle-hold run (needs idle_kib_per_connection)
  benchlib.py brief JSON                    one-line summary of a handshake run
  benchlib.py brief-hold JSON               one-line summary of an idle-hold run
  benchlib.py summarize RAW OUTDIR COLUMNS PARAMS   raw.jsonl -> handshakes.csv/.md, idle-memory.csv/.md
  benchlib.py chart CSV PNG COLUMNS         grouped bar chart of median server CPU-us per handshake
  benchlib.py verify-table RAW COLUMNS      table of --verify-only results
  benchlib.py callgrind FILE                one callgrind dump -> JSON: instructions per connection,
                                            in all and outside SSL_do_handshake (--callgrind)
  benchlib.py callgrind-table RAW OUTDIR COLUMNS   raw.jsonl of a --callgrind run -> callgrind.csv/.md
  benchlib.py targets RAW OUTDIR PARAMS     raw.jsonl of a --targets run -> targets.csv/.md (issue #5's rows)
  benchlib.py target-cells                  the --targets rows, one KEY:MODE:TLS:RESUME per line
  benchlib.py syscalls PERF JSON            perf stat -x, output + HandshakeBench JSON -> JSON: system calls
                                            (by name) and context switches per connection (--syscalls)
  benchlib.py brief-syscalls JSON           one-line summary of a --syscalls cell
  benchlib.py syscalls-table RAW OUTDIR COLUMNS PARAMS   raw.jsonl of a --syscalls run -> syscalls.csv/.md
"""
import csv
import json
import math
import os
import re
import statistics
import subprocess
import sys

KEYS = [("rsa", "RSA-2048"), ("ecdsa", "ECDSA P-256")]
MODES = [("implicit", "implicit TLS"), ("smtp", "SMTP STARTTLS"), ("imap", "IMAP STARTTLS"), ("pop3", "POP3 STARTTLS")]
TLSES = ["1.2", "1.3"]
RESUMES = ["full", "resumed"]
LABELS = {
    "mailedge": "MailEdge", "nginx-mail": "nginx mail", "nginx-stream": "nginx stream",
    "haproxy": "HAProxy", "stunnel": "stunnel", "hitch": "hitch", "dovecot": "Dovecot", "postfix": "Postfix",
    "tls-floor": "tls-floor (reference)",
}
KEY_LABEL = dict(KEYS)
MODE_LABEL = dict(MODES)


def number(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)) and math.isfinite(v):
        return float(v)
    try:
        f = float(v)
        return f if math.isfinite(f) else None
    except (TypeError, ValueError):
        return None


def extract(path, hold=False):
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return 1
    dec = json.JSONDecoder()
    obj = None
    i = text.find("{")
    while i != -1:
        try:
            cand, _ = dec.raw_decode(text[i:])
            if isinstance(cand, dict):
                obj = cand
                break
        except ValueError:
            pass
        i = text.find("{", i + 1)
    if obj is None:
        return 1
    if hold:
        if number(obj.get("idle_kib_per_connection")) is None:
            print(json.dumps(obj, separators=(",", ":")), file=sys.stderr)
            return 1
    else:
        cpu = number(obj.get("server_cpu_us_per_handshake"))
        count = number(obj.get("count")) or 0
        failures = number(obj.get("failures")) or 0
        if cpu is None or cpu <= 0 or (failures > 0 and failures >= count):
            print(json.dumps(obj, separators=(",", ":")), file=sys.stderr)
            return 1
    print(json.dumps(obj, separators=(",", ":")))
    return 0


def brief(js):
    o = json.loads(js)
    def f(k, fmt="{:.0f}"):
        v = number(o.get(k))
        return "?" if v is None else fmt.format(v)
    print(f"cpu {f('server_cpu_us_per_handshake')} us/hs, {f('handshakes_per_second')} hs/s, "
          f"p50 {f('latency_p50_ms', '{:.2f}')} ms, p99 {f('latency_p99_ms', '{:.2f}')} ms, "
          f"count {o.get('count')}, resumed {o.get('resumed')}, failures {o.get('failures')}, "
          f"cipher {o.get('cipher')}, group {o.get('group')}, key {o.get('server_key')}")
    return 0


def brief_hold(js):
    o = json.loads(js)
    print(f"rss {o.get('server_rss_before_kib')} -> {o.get('server_rss_after_kib')} KiB, held {o.get('held')}, "
          f"{o.get('idle_kib_per_connection')} KiB/conn, closed by server {o.get('held_closed_by_server')}, "
          f"failures {o.get('failures')}")
    return 0


def load_raw(path):
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass
    return rows


def fmt(v, digits=0):
    if v is None:
        return ""
    return f"{v:.{digits}f}"


def summarize(raw_path, outdir, columns, params_path):
    rows = load_raw(raw_path)
    params = {}
    try:
        params = json.load(open(params_path))
    except (OSError, ValueError):
        pass
    order = columns.split()
    present = [c for c in order if any(r["peer"] == c for r in rows)]
    present += sorted({r["peer"] for r in rows} - set(present))

    cells = {}
    for r in rows:
        if r.get("kind") != "cell":
            continue
        k = (r["peer"], r["key"], r["mode"], r["tls"], r["resume"])
        cells.setdefault(k, []).append(r)

    summary = {}
    csv_rows = []
    for k in sorted(cells, key=lambda k: (present.index(k[0]) if k[0] in present else 99,
                                           [x for x, _ in KEYS].index(k[1]) if k[1] in KEY_LABEL else 9,
                                           [x for x, _ in MODES].index(k[2]) if k[2] in MODE_LABEL else 9, k[3], k[4])):
        runs = cells[k]
        ok = [r["result"] for r in runs if r["status"] == "ok" and isinstance(r.get("result"), dict)]
        notes = sorted({r.get("note", "") for r in runs if r.get("note")})
        if ok:
            status = "ok"
        elif any(r["status"] == "failed" for r in runs):
            status = "failed"
        else:
            status = "n/a"
        def med(field):
            vals = [number(o.get(field)) for o in ok]
            vals = [v for v in vals if v is not None]
            return statistics.median(vals) if vals else None
        cpu = [number(o.get("server_cpu_us_per_handshake")) for o in ok]
        cpu = [v for v in cpu if v is not None]
        def total(field):
            vals = [number(o.get(field)) for o in ok]
            vals = [v for v in vals if v is not None]
            return int(sum(vals)) if vals else None
        failed_runs = sum(1 for r in runs if r["status"] == "failed")
        rec = {
            "peer": k[0], "key": k[1], "mode": k[2], "tls": k[3], "resume": k[4], "status": status,
            "runs": len(ok), "failed_runs": failed_runs,
            "cpu_us_median": statistics.median(cpu) if cpu else None,
            "cpu_us_min": min(cpu) if cpu else None, "cpu_us_max": max(cpu) if cpu else None,
            "handshakes_per_second": med("handshakes_per_second"),
            "latency_p50_ms": med("latency_p50_ms"), "latency_p99_ms": med("latency_p99_ms"),
            "failures": total("failures"), "count": total("count"), "resumed": total("resumed"),
            "cipher": next((o.get("cipher") for o in ok if o.get("cipher")), ""),
            "group": ",".join(sorted({str(o.get("group")) for o in ok if o.get("group")})),
            "server_key": next((o.get("server_key") for o in ok if o.get("server_key")), ""),
            "note": "; ".join(notes)[:300],
        }
        summary[k] = rec
        csv_rows.append(rec)

    fields = ["peer", "key", "mode", "tls", "resume", "status", "runs", "failed_runs", "cpu_us_median", "cpu_us_min",
              "cpu_us_max", "handshakes_per_second", "latency_p50_ms", "latency_p99_ms", "failures", "count",
              "resumed", "cipher", "group", "server_key", "note"]
    with open(os.path.join(outdir, "handshakes.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for rec in csv_rows:
            out = dict(rec)
            for f in ("cpu_us_median", "cpu_us_min", "cpu_us_max", "handshakes_per_second"):
                out[f] = fmt(rec[f], 1)
            for f in ("latency_p50_ms", "latency_p99_ms"):
                out[f] = fmt(rec[f], 3)
            w.writerow(out)

    def cell_text(rec, what):
        if rec is None:
            return "n/a"
        if rec["status"] != "ok":
            return rec["status"]
        if what == "cpu":
            t = fmt(rec["cpu_us_median"])
            if rec["runs"] > 1:
                t += f" ({fmt(rec['cpu_us_min'])}–{fmt(rec['cpu_us_max'])})"
        else:
            t = fmt(rec["handshakes_per_second"])
        marks = ""
        if rec["resume"] == "resumed" and rec["count"] and (rec["resumed"] or 0) < 0.5 * rec["count"]:
            marks += " ‡"
        if rec["failures"]:
            marks += f" ({rec['failures']} failed)"
        sk = (rec.get("server_key") or "").upper()
        if sk and not sk.startswith("RSA" if rec["key"] == "rsa" else "EC"):
            marks += f" [server key {rec['server_key']}!]"
        if rec.get("group") and rec["group"] != "X25519":
            marks += f" [group {rec['group']}]"
        return t + marks

    row_keys = []
    for key, _ in KEYS:
        for mode, _ in MODES:
            for tls in TLSES:
                for resume in RESUMES:
                    if any((c, key, mode, tls, resume) in summary for c in present):
                        row_keys.append((key, mode, tls, resume))

    p = params
    head = []
    head.append("# TLS handshake cost: MailEdge and its peers")
    head.append("")
    head.append(f"Server CPU time (user+sys) per handshake in µs, median of {p.get('runs', '?')} run(s)"
                + (" (min–max)" if p.get("runs", 1) > 1 else "")
                + f"; {p.get('count', '?')} handshakes per run"
                + (f" ({p['resumed_count']} when resumed)" if p.get("resumed_count", p.get("count")) != p.get("count") else "")
                + f", concurrency {p.get('concurrency', '?')}, "
                f"warm-up {p.get('warmup', '?')}. One server worker pinned to CPU {p.get('server_cpu', 0)}, "
                f"HandshakeBench on CPU {p.get('client_cpu', 1)}, loopback. TLS 1.2: "
                f"{p.get('cipher12_rsa', '')} / {p.get('cipher12_ecdsa', '')}; TLS 1.3: {p.get('suite13', '')}; "
                f"group {p.get('group', '')}. Lower is better."
                + (" **Quick run** (few handshakes, one run): indicative only." if p.get("quick") else "")
                + (" Implicit-TLS rows: the client does **not** read the greeting (`--no-greeting`); the figure is the"
                   " handshake alone." if p.get("greeting", 1) == 0 else
                   " Implicit-TLS rows: the client reads the server's greeting after the handshake."))
    head.append("")
    if "tls-floor" in present:
        head.append("tls-floor is not a server but a reference (Benchmarks/peers/tls-floor.c): one epoll loop and OpenSSL "
                    "set up like MailEdge, answering only the benchmark's commands, with no configuration, logging, "
                    "certificate choice or limits. Its figure is what OpenSSL and the kernel cost per connection here; "
                    "a server's figure minus it is that server's own work.")
        head.append("")
    head.append("n/a: the server does not offer that mode (or that MailEdge build has no such connector yet); "
                "failed: see handshakes.csv `note`; ‡: fewer than half of the handshakes were resumed.")
    head.append("")

    def table(what):
        lines = ["| key | mode | TLS | handshake | " + " | ".join(LABELS.get(c, c) for c in present) + " |",
                 "|---|---|---|---|" + "---:|" * len(present)]
        for key, mode, tls, resume in row_keys:
            vals = [cell_text(summary.get((c, key, mode, tls, resume)), what) for c in present]
            lines.append(f"| {KEY_LABEL.get(key, key)} | {MODE_LABEL.get(mode, mode)} | {tls} | {resume} | "
                         + " | ".join(vals) + " |")
        return lines

    md = head + ["## Server CPU µs per handshake", ""] + table("cpu") + ["",
          "## Handshakes per second (informational)", "",
          "Bound by the single client core, not the server. nginx mail on SMTPS and Postfix smtpd in wrapper "
          "mode deliver the greeting that follows the handshake ~40 ms late (at concurrency 1 nginx mail takes "
          "~47 ms per connection with the greeting, ~1.5 ms without; most likely Nagle's algorithm meeting the "
          "client's delayed ACK), which caps their rate here (Postfix also serves one connection at a time); "
          "their CPU per handshake is still comparable.", ""] + table("hps")
    md.append("")
    md.append(f"Run: `{p.get('started', '')}`, {p.get('openssl', '')}, kernel {p.get('kernel', '')}.")
    with open(os.path.join(outdir, "handshakes.md"), "w") as fh:
        fh.write("\n".join(md) + "\n")

    # Idle memory.
    holds = [r for r in rows if r.get("kind") == "hold"]
    hfields = ["peer", "key", "tls", "status", "connections", "held", "held_closed_by_server", "server_rss_before_kib", "server_rss_after_kib",
               "idle_kib_per_connection", "failures", "note"]
    hrecs = []
    for c in present:
        rs = [r for r in holds if r["peer"] == c]
        if not rs:
            continue
        r = rs[-1]
        o = r.get("result") if isinstance(r.get("result"), dict) else {}
        hrecs.append({
            "peer": c, "key": r["key"], "tls": r["tls"], "status": r["status"],
            "connections": p.get("hold", ""), "held": o.get("held", ""),
            "held_closed_by_server": o.get("held_closed_by_server", ""), "server_rss_before_kib": o.get("server_rss_before_kib", ""),
            "server_rss_after_kib": o.get("server_rss_after_kib", ""),
            "idle_kib_per_connection": fmt(number(o.get("idle_kib_per_connection")), 1),
            "failures": o.get("failures", ""), "note": r.get("note", ""),
        })
    if hrecs:
        with open(os.path.join(outdir, "idle-memory.csv"), "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=hfields)
            w.writeheader()
            w.writerows(hrecs)
        lines = ["# Idle TLS connections: server memory per connection", "",
                 f"{p.get('hold', '?')} TLS 1.3 connections ({KEY_LABEL.get(p.get('hold_key', ''), '')}) held idle on each "
                 "server's implicit-TLS listener after the handshake; RSS of the measured process before and after. "
                 "For the generic terminators (nginx stream, HAProxy, stunnel, hitch) this includes the backend connection "
                 "each client connection opens.", "",
                 "| server | listener | RSS before (KiB) | RSS after (KiB) | KiB per connection | failures |",
                 "|---|---|---:|---:|---:|---:|"]
        listener = {"mailedge": "SMTPS (submission)", "nginx-mail": "SMTPS (mail)", "nginx-stream": "stream → greeting backend",
                    "haproxy": "→ greeting backend", "stunnel": "→ greeting backend", "hitch": "→ greeting backend",
                    "dovecot": "IMAPS (imap-login)", "postfix": "SMTPS (smtpd wrapper mode)",
                    "tls-floor": "SMTPS (reference, no backend)"}
        for h in hrecs:
            if h["status"] == "ok":
                lines.append(f"| {LABELS.get(h['peer'], h['peer'])} | {listener.get(h['peer'], '')} | "
                             f"{h['server_rss_before_kib']} | {h['server_rss_after_kib']} | "
                             f"{h['idle_kib_per_connection']} | {h['failures']} |")
            else:
                st = "n/a" if h["status"] == "na" else h["status"]
                if h.get("note"):
                    st += f" ({h['note'][:80]})"
                lines.append(f"| {LABELS.get(h['peer'], h['peer'])} | {listener.get(h['peer'], '')} | | | {st} | |")
        with open(os.path.join(outdir, "idle-memory.md"), "w") as fh:
            fh.write("\n".join(lines) + "\n")
    return 0


def chart(csv_path, png_path, columns):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not available", file=sys.stderr)
        return 1
    with open(csv_path) as fh:
        recs = [r for r in csv.DictReader(fh)]
    val = {}
    for r in recs:
        if r["status"] == "ok" and r["cpu_us_median"]:
            val[(r["peer"], r["key"], r["mode"], r["tls"], r["resume"])] = (
                float(r["cpu_us_median"]), float(r["cpu_us_min"] or r["cpu_us_median"]),
                float(r["cpu_us_max"] or r["cpu_us_median"]))
    order = columns.split()
    peers = [c for c in order if any(k[0] == c for k in val)]
    if not peers:
        print("nothing to chart", file=sys.stderr)
        return 1
    short = {"rsa": "RSA", "ecdsa": "ECDSA"}
    panels = [
        ("Implicit TLS", [(k, "implicit", t, r) for k, _ in KEYS for t in TLSES for r in RESUMES],
         lambda g: f"{short[g[0]]}\nTLS {g[2]}\n{g[3]}"),
        ("STARTTLS, full handshakes", [(k, m, t, "full") for m in ("smtp", "imap", "pop3") for k, _ in KEYS for t in TLSES],
         lambda g: f"{g[1].upper()}\n{short[g[0]]} {g[2]}"),
    ]
    panels = [(title, [g for g in groups if any((p,) + g in val for p in peers)], lab)
              for title, groups, lab in panels]
    panels = [p for p in panels if p[1]]
    fig, axes = plt.subplots(len(panels), 1, figsize=(max(10, 1.3 * max(len(p[1]) for p in panels) + 2), 5 * len(panels)),
                             squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, (title, groups, lab) in zip(axes[:, 0], panels):
        here = [p for p in peers if any((p,) + g in val for g in groups)]
        width = 0.8 / len(here)
        for i, p in enumerate(here):
            xs, ys, lo, hi = [], [], [], []
            for gi, g in enumerate(groups):
                v = val.get((p,) + g)
                if v:
                    xs.append(gi - 0.4 + width * (i + 0.5))
                    ys.append(v[0])
                    lo.append(v[0] - v[1])
                    hi.append(v[2] - v[0])
            ax.bar(xs, ys, width, label=LABELS.get(p, p), color=cmap(peers.index(p) % 10),
                   yerr=[lo, hi] if any(lo + hi) else None, capsize=2, edgecolor="black", linewidth=0.3)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([lab(g) for g in groups], fontsize=8)
        ax.set_ylabel("server CPU µs per handshake")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, ncol=min(len(here), 4))
    fig.suptitle("TLS handshake cost per server (one worker on one core; median, bars = min–max)")
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    return 0


def verify_table(raw_path, columns):
    rows = [r for r in load_raw(raw_path) if r.get("kind") == "verify"]
    order = [c for c in columns.split() if any(r["peer"] == c for r in rows)]
    print("| key | mode | " + " | ".join(LABELS.get(c, c) for c in order) + " |")
    print("|---|---|" + "---|" * len(order))
    for key, kl in KEYS:
        for mode, ml in MODES:
            vals = []
            for c in order:
                rs = [r for r in rows if (r["peer"], r["key"], r["mode"]) == (c, key, mode)]
                vals.append(rs[-1]["status"] + (f" ({rs[-1]['note']})" if rs and rs[-1].get("note") else "") if rs else "")
            if any(vals):
                print(f"| {kl} | {ml} | " + " | ".join(vals) + " |")
    return 0


def callgrind_blocks(path):
    """callgrind_annotate's caller tree: {function: (inclusive, calls)} with the
    function named as callgrind_annotate prints it (`file:name`)."""
    out = subprocess.run(["callgrind_annotate", "--tree=caller", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    total = re.search(r"([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS", out)
    functions = {}
    for block in out.split("\n\n"):
        head = re.search(r"^\s*([\d,]+)\s+\([\s\d.]+%\)\s+\*\s+(\S+)", block, re.M)
        if not head:
            continue
        callers = re.findall(r"^\s*[\d,]+\s+\([\s\d.]+%\)\s+<\s+\S+\s+\(([\d,]+)x\)(?:\s+\[(\S+)\])?", block, re.M)
        calls = sum(int(c.replace(",", "")) for c, _ in callers)
        from_libssl = sum(int(c.replace(",", "")) for c, lib in callers if "libssl" in lib)
        functions[head.group(2)] = (int(head.group(1).replace(",", "")), calls, from_libssl)
    return (int(total.group(1).replace(",", "")) if total else 0), functions


def callgrind(path):
    """The figure of a --callgrind cell. A connection's instructions are split at
    SSL_do_handshake: inside it is OpenSSL's handshake (the same library for every
    server, and full handshakes of a resumed run's warm-up land there too, so it is
    reported but not compared); outside it is everything else a server does per
    connection (accept, SSL_new/SSL_free, reads and writes, its protocol, timers,
    logging), plus MailEdge's ClientHello callback (its certificate choice, which
    OpenSSL calls from inside the handshake). Connections are counted by SSL_new."""
    try:
        total, functions = callgrind_blocks(path)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"callgrind: {error}", file=sys.stderr)
        return 1

    def find(pattern):
        hits = [v for k, v in functions.items() if re.search(pattern, k)]
        return max(hits) if hits else (0, 0, 0)

    handshake = find(r":SSL_do_handshake$")[0]
    connections = find(r":SSL_new$")[1]
    # A full handshake signs once (TLS 1.2 ServerKeyExchange, 1.3 CertificateVerify);
    # libssl starts each signature with one EVP_DigestSignInit_ex.
    signatures = find(r":EVP_DigestSignInit_ex$")[2]
    hello = find(r"clientHelloCallback.*FTo$")[0]
    if connections == 0 or total == 0:
        print("callgrind: no connection in the dump", file=sys.stderr)
        return 1
    outside = total - handshake + hello
    print(json.dumps({"connections": connections, "full_handshakes": signatures,
                      "instructions_per_connection": round(total / connections),
                      "handshake_per_connection": round(handshake / connections),
                      "outside_handshake_per_connection": round(outside / connections),
                      "client_hello_callback_per_connection": round(hello / connections)}, separators=(",", ":")))
    return 0


def callgrind_table(raw_path, outdir, columns):
    rows = [r for r in load_raw(raw_path) if r.get("kind") == "cell"]
    order = [c for c in columns.split() if any(r["peer"] == c for r in rows)]
    cells = {}
    for r in rows:
        cells[(r["peer"], r["key"], r["mode"], r["tls"], r["resume"])] = r
    keys = sorted({k[1:] for k in cells}, key=lambda k: ([x for x, _ in KEYS].index(k[0]) if k[0] in KEY_LABEL else 9,
                                                        [x for x, _ in MODES].index(k[1]) if k[1] in MODE_LABEL else 9, k[2], k[3]))
    def figure(peer, k, field):
        r = cells.get((peer,) + k)
        if not r or r.get("status") != "ok" or not isinstance(r.get("result"), dict):
            return None
        return number(r["result"].get(field))
    with open(os.path.join(outdir, "callgrind.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["peer", "key", "mode", "tls", "handshake", "status", "connections", "full_handshakes",
                    "instructions_per_connection", "handshake_per_connection", "outside_handshake_per_connection",
                    "client_hello_callback_per_connection", "note"])
        for k in keys:
            for peer in order:
                r = cells.get((peer,) + k)
                if not r:
                    continue
                res = r.get("result") if isinstance(r.get("result"), dict) else {}
                w.writerow([peer, *k, r.get("status"), res.get("connections", ""), res.get("full_handshakes", ""),
                            res.get("instructions_per_connection", ""), res.get("handshake_per_connection", ""),
                            res.get("outside_handshake_per_connection", ""), res.get("client_hello_callback_per_connection", ""),
                            r.get("note", "")])
    lines = ["# Instructions per connection outside the TLS handshake (callgrind)", "",
             "valgrind's callgrind counts every instruction the server process runs while HandshakeBench makes the "
             "run's connections (counters zeroed before, dumped after; they repeat to within ~2 % between runs of the same binaries). "
             "Outside the handshake means everything but `SSL_do_handshake`: accepting, `SSL_new`/`SSL_free`, reads and "
             "writes, the protocol's commands and replies, timers and logging, plus MailEdge's ClientHello callback "
             "(its certificate choice). The handshake itself is OpenSSL's, the same library for every column; "
             "instruction counts are not time (code that runs once per connection runs from cold caches).", ""]
    head = "| key | mode | TLS | handshake | " + " | ".join(LABELS.get(c, c) for c in order)
    if "mailedge" in order and "tls-floor" in order:
        head += " | MailEdge − floor"
    lines.append(head + " |")
    lines.append("|---|---|---|---|" + "---:|" * (len(order) + (1 if "mailedge" in order and "tls-floor" in order else 0)))
    for k in keys:
        vals = [figure(c, k, "outside_handshake_per_connection") for c in order]
        row = f"| {KEY_LABEL.get(k[0], k[0])} | {MODE_LABEL.get(k[1], k[1])} | {k[2]} | {k[3]} | "
        row += " | ".join(fmt(v) if v is not None else (cells[(c,) + k]["status"] if (c,) + k in cells else "n/a")
                          for c, v in zip(order, vals))
        if "mailedge" in order and "tls-floor" in order:
            me, fl = vals[order.index("mailedge")], vals[order.index("tls-floor")]
            row += " | " + (f"+{fmt(me - fl)}" if me is not None and fl is not None else "")
        lines.append(row + " |")
    with open(os.path.join(outdir, "callgrind.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


# Issue #5's targets: (key, mode, TLS, handshake, target server CPU-us per handshake, label).
TARGET_ROWS = [
    ("rsa", "implicit", "1.2", "full", 1000, "RSA-2048 full, implicit TLS"),
    ("rsa", "smtp", "1.2", "full", 1040, "RSA-2048 full, SMTP STARTTLS"),
    ("ecdsa", "implicit", "1.2", "full", 330, "ECDSA P-256 full, implicit TLS"),
    ("ecdsa", "imap", "1.2", "full", 365, "ECDSA P-256 full, IMAP STARTTLS"),
    ("rsa", "implicit", "1.2", "resumed", 100, "resumed (ticket), implicit TLS, RSA-2048"),
]
IDLE_TARGET_KIB = 16


def targets(raw_path, outdir, params_path):
    """Issue #5's rows: each peer's median (min-max) over the rounds, whether MailEdge's
    median meets the target, and MailEdge against tls-floor and nginx mail round by
    round (the same round's cells are seconds apart, so a slow spell of the machine
    falls on both; the per-round ratio is steadier than either figure)."""
    rows = load_raw(raw_path)
    try:
        params = json.load(open(params_path))
    except (OSError, ValueError):
        params = {}
    per_run = {}   # (peer, key, mode, tls, resume) -> {run: us}
    split = {}     # the same -> {run: (user us, system us)}, when HandshakeBench reported them
    for r in rows:
        if r.get("kind") != "cell" or r.get("status") != "ok" or not isinstance(r.get("result"), dict):
            continue
        v = number(r["result"].get("server_cpu_us_per_handshake"))
        if v is not None and not r["result"].get("failures"):
            cell = (r["peer"], r["key"], r["mode"], r["tls"], r["resume"])
            per_run.setdefault(cell, {})[r["run"]] = v
            user, system = (number(r["result"].get(k)) for k in ("server_user_us_per_handshake", "server_sys_us_per_handshake"))
            if user is not None and system is not None:
                split.setdefault(cell, {})[r["run"]] = (user, system)

    def spread(vals):
        return (statistics.median(vals), min(vals), max(vals)) if vals else None

    def paired(a, b, how):
        runs = sorted(set(a) & set(b))
        return statistics.median(how(a[n], b[n]) for n in runs) if runs else None

    csv_rows, lines = [], []
    peers_cols = [c for c in ("tls-floor", "nginx-mail") if any(k[0] == c for k in per_run)]
    short = {"mailedge": "MailEdge", "tls-floor": "tls-floor", "nginx-mail": "nginx mail"}
    for key, mode, tls, resume, target, label in TARGET_ROWS:
        me = per_run.get(("mailedge", key, mode, tls, resume), {})
        rec = {"row": label, "key": key, "mode": mode, "tls": tls, "handshake": resume, "target_us": target,
               "runs": len(me)}
        s = spread(list(me.values()))
        rec["mailedge_median"], rec["mailedge_min"], rec["mailedge_max"] = s if s else (None, None, None)
        rec["mailedge_runs_within_target"] = sum(1 for v in me.values() if v <= target)
        rec["met"] = "" if s is None else ("yes" if s[0] <= target else "no")
        for c in peers_cols:
            other = per_run.get((c, key, mode, tls, resume), {})
            t = spread(list(other.values()))
            rec[f"{c}_median"] = t[0] if t else None
            rec[f"{c}_min"], rec[f"{c}_max"] = (t[1], t[2]) if t else (None, None)
            rec[f"{c}_runs"] = len(other)
            rec[f"{c}_runs_within_target"] = sum(1 for v in other.values() if v <= target)
            rec[f"mailedge_minus_{c}"] = paired(me, other, lambda x, y: x - y)
            rec[f"mailedge_over_{c}"] = paired(me, other, lambda x, y: x / y)
            # Where the difference lies: user time (the servers' own code and OpenSSL)
            # or system time (system calls, sleeps and wake-ups, the TCP stack).
            me_split, other_split = split.get(("mailedge", key, mode, tls, resume), {}), split.get((c, key, mode, tls, resume), {})
            rec[f"mailedge_minus_{c}_user"] = paired(me_split, other_split, lambda x, y: x[0] - y[0])
            rec[f"mailedge_minus_{c}_sys"] = paired(me_split, other_split, lambda x, y: x[1] - y[1])
        csv_rows.append(rec)

    holds = {r["peer"]: r for r in rows if r.get("kind") == "hold" and r.get("status") == "ok"
             and isinstance(r.get("result"), dict)}
    idle = {c: number(h["result"].get("idle_kib_per_connection")) for c, h in holds.items()}

    fields = list(csv_rows[0].keys()) if csv_rows else []
    with open(os.path.join(outdir, "targets.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for rec in csv_rows:
            w.writerow({k: (fmt(v, 3) if isinstance(v, float) and "over" in k else fmt(v, 1) if isinstance(v, float) else v)
                        for k, v in rec.items()})
        if "mailedge" in idle:
            fh.write(f"# idle KiB per connection: " + ", ".join(f"{c} {fmt(v, 1)}" for c, v in idle.items() if v is not None)
                     + f"; target <= {IDLE_TARGET_KIB}\n")

    n = params.get("runs", "?")
    lines += ["# Issue #5's targets: MailEdge next to tls-floor and nginx mail", "",
              f"`scripts/bench-peers --targets`: {n} round(s); in each round the servers are up at once, pinned to "
              f"CPU {params.get('server_cpu', 0)} (HandshakeBench on CPU {params.get('client_cpu', 1)}), and measured "
              "back to back cell by cell, in an order rotated per round. "
              f"{params.get('count', '?')} handshakes per full cell, {params.get('resumed_count', '?')} per resumed cell; "
              "server CPU time (user+sys) in µs per handshake; TLS 1.2, X25519. Implicit-TLS rows read the greeting"
              + (" (here: **not**, `--no-greeting`)." if params.get("greeting", 1) == 0 else ".")
              + (" **Quick run**: indicative only." if params.get("quick") else ""), "",
              "Met: MailEdge's median over the rounds is within the target. The ratio and difference columns pair "
              "MailEdge with the other server **in the same round** and give the median over rounds; tls-floor "
              "(Benchmarks/peers/tls-floor.c) does only what OpenSSL and the kernel must do per connection, so "
              "\"MailEdge − floor\" is MailEdge's own work and \"runs within\" shows whether the target is reachable "
              "on this machine at all. \"Of it user / system\" splits that difference (each the median of the "
              "per-round differences, so the two need not add up exactly) into user time, the servers' own code and "
              "OpenSSL's, and system time, the kernel's work for them: system calls, the TCP stack, sleeps and "
              "wake-ups. /proc counts both in 10 ms ticks.", ""]
    head = "| row | target | MailEdge median (min–max) | met | MailEdge runs within"
    sep = "|---|---:|---:|:---:|---:"
    for c in peers_cols:
        head += f" | {short[c]} median (min–max) | {short[c]} runs within"
        sep += "|---:|---:"
    if "tls-floor" in peers_cols:
        head += " | MailEdge − floor | of it user / system | MailEdge / floor"
        sep += "|---:|---:|---:"
    if "nginx-mail" in peers_cols:
        head += " | MailEdge / nginx mail"
        sep += "|---:"
    lines += [head + " |", sep + "|"]

    def span(rec, c):
        if rec.get(f"{c}_median") is None:
            return "n/a"
        return f"{fmt(rec[f'{c}_median'])} ({fmt(rec[f'{c}_min'])}–{fmt(rec[f'{c}_max'])})"

    for rec in csv_rows:
        row = f"| {rec['row']} | ≤ {rec['target_us']} | {span(rec, 'mailedge')} | {rec['met'] or 'n/a'} | " \
              f"{rec['mailedge_runs_within_target']}/{rec['runs']}"
        for c in peers_cols:
            row += f" | {span(rec, c)} | {rec[f'{c}_runs_within_target']}/{rec[f'{c}_runs']}"
        if "tls-floor" in peers_cols:
            d, q = rec.get("mailedge_minus_tls-floor"), rec.get("mailedge_over_tls-floor")
            du, ds = rec.get("mailedge_minus_tls-floor_user"), rec.get("mailedge_minus_tls-floor_sys")
            signed = lambda v: "" if v is None else ("+" if v >= 0 else "") + fmt(v)
            row += f" | {signed(d)} | {signed(du) + ' / ' + signed(ds) if du is not None and ds is not None else ''}" \
                   f" | {'' if q is None else fmt(q, 3)}"
        if "nginx-mail" in peers_cols:
            q = rec.get("mailedge_over_nginx-mail")
            row += f" | {'' if q is None else fmt(q, 3)}"
        lines.append(row + " |")
    if idle:
        lines += ["", f"Idle TLS connection (target ≤ {IDLE_TARGET_KIB} KiB per connection, {params.get('hold', '?')} held): "
                  + ", ".join(f"{short.get(c, LABELS.get(c, c))} {fmt(v, 1)} KiB" for c, v in idle.items() if v is not None)
                  + (f" — {'met' if idle.get('mailedge') is not None and idle['mailedge'] <= IDLE_TARGET_KIB else 'not met'}."
                     if "mailedge" in idle else ".")]
    lines += ["", f"Run: `{params.get('started', '')}`, {params.get('openssl', '')}, kernel {params.get('kernel', '')}."]
    with open(os.path.join(outdir, "targets.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return 0


# --syscalls: perf stat -x, output of the measured server process during one
# HandshakeBench run (no warm-up inside it, so every connection it made is counted).
SYSCALL_ORDER = ["accept4", "accept", "read", "recvfrom", "recvmsg", "readv", "write", "sendto", "sendmsg", "writev",
                 "epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll", "select", "close", "shutdown",
                 "setsockopt", "fcntl", "ioctl", "getpid", "futex"]


def perf_counts(path):
    """{event: count} from perf stat's CSV (-x,) file; events perf could not count are left out."""
    counts = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split(",")
            if len(parts) < 3:
                continue
            value = number(parts[0])
            if value is not None:
                counts[parts[2]] = value
    return counts


def syscalls(perf_path, hb_json):
    """One cell's figures per connection: all system calls, context switches and the
    calls by name, plus HandshakeBench's own result (its CPU figure includes perf's
    tracepoint overhead: not a timing run)."""
    try:
        counts = perf_counts(perf_path)
        hb = json.loads(hb_json)
    except (OSError, ValueError) as e:
        print(f"syscalls: {e}", file=sys.stderr)
        return 1
    connections = (number(hb.get("count")) or 0) + (number(hb.get("failures")) or 0)
    total = counts.get("raw_syscalls:sys_enter")
    switches = counts.get("context-switches")
    if not connections or total is None or switches is None:
        print(f"syscalls: not counted ({perf_path}: {sorted(counts)}; {connections} connections)", file=sys.stderr)
        return 1
    prefix = "syscalls:sys_enter_"
    by_name = {k[len(prefix):]: round(v / connections, 2) for k, v in counts.items() if k.startswith(prefix) and v}
    named = sum(v for k, v in counts.items() if k.startswith(prefix))
    out = dict(hb)
    out.update({"connections": int(connections),
                "syscalls_per_connection": round(total / connections, 2),
                "context_switches_per_connection": round(switches / connections, 2),
                "other_syscalls_per_connection": round(max(total - named, 0) / connections, 2),
                "by_syscall": by_name})
    print(json.dumps(out, separators=(",", ":")))
    return 0


def brief_syscalls(js):
    o = json.loads(js)
    top = sorted(o.get("by_syscall", {}).items(), key=lambda kv: -kv[1])[:6]
    print(f"{o.get('syscalls_per_connection')} syscalls/conn ({', '.join(f'{k} {v}' for k, v in top)}), "
          f"{o.get('context_switches_per_connection')} context switches/conn, {o.get('connections')} connections")
    return 0


def syscalls_table(raw_path, outdir, columns, params_path):
    rows = [r for r in load_raw(raw_path) if r.get("kind") == "cell"]
    order = [c for c in columns.split() if any(r["peer"] == c for r in rows)]
    cells = {(r["peer"], r["key"], r["mode"], r["tls"], r["resume"]): r for r in rows}
    try:
        params = json.load(open(params_path))
    except (OSError, ValueError):
        params = {}
    def result(peer, cell):
        r = cells.get((peer,) + cell)
        return r["result"] if r and r.get("status") == "ok" and isinstance(r.get("result"), dict) else None
    names = [n for n in SYSCALL_ORDER
             if any((result(p, c[:4]) or {}).get("by_syscall", {}).get(n) for p in order for c in TARGET_ROWS)]
    with open(os.path.join(outdir, "syscalls.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["peer", "key", "mode", "tls", "handshake", "status", "connections", "syscalls_per_connection",
                    "context_switches_per_connection", *names, "other_per_connection", "handshakes_per_second",
                    "greeting_p50_ms", "note"])
        for row in TARGET_ROWS:
            for peer in order:
                r = cells.get((peer,) + row[:4])
                if not r:
                    continue
                res = result(peer, row[:4]) or {}
                by = res.get("by_syscall", {})
                w.writerow([peer, *row[:4], r.get("status"), res.get("connections", ""), res.get("syscalls_per_connection", ""),
                            res.get("context_switches_per_connection", ""), *[by.get(n, 0) if res else "" for n in names],
                            res.get("other_syscalls_per_connection", ""), res.get("handshakes_per_second", ""),
                            res.get("greeting_p50_ms", ""), r.get("note", "")])
    lines = ["# System calls and context switches per connection", "",
             "`scripts/bench-peers --syscalls`: perf counts the measured server process's system calls "
             "(the `raw_syscalls:sys_enter` and `syscalls:sys_enter_*` tracepoints) and context switches while "
             f"HandshakeBench makes {params.get('count', '?')} connections per full-handshake row "
             f"({params.get('resumed_count', '?')} resumed), {params.get('concurrency', '?')} at a time, after a separate "
             "warm-up; per connection. The kernel side of each server's cost, which callgrind does not see: "
             "every system call and every sleep and wake-up is CPU time charged to the server. "
             "A context switch is mostly the server going idle to wait for the client (the client is the slower side "
             "on this 2-core machine); a server that keeps its clients waiting (see the greeting row) idles between "
             "events and runs each one from cold caches. Counts, not time: the tracepoints slow the servers a little, "
             "so this is not a timing run.", ""]
    for row in TARGET_ROWS:
        present = [p for p in order if (p,) + row[:4] in cells]
        if not present:
            continue
        lines.append(f"## {row[5]} (TLS {row[2]})")
        lines.append("")
        lines.append("| per connection | " + " | ".join(LABELS.get(p, p) for p in present) + " |")
        lines.append("|---|" + "---:|" * len(present))
        def line(label, get, digits=2):
            vals = []
            for p in present:
                res = result(p, row[:4])
                vals.append(cells[(p,) + row[:4]].get("status", "") if res is None else fmt(get(res), digits))
            lines.append(f"| {label} | " + " | ".join(vals) + " |")
        line("**system calls**", lambda r: r.get("syscalls_per_connection"))
        line("**context switches**", lambda r: r.get("context_switches_per_connection"))
        for n in names:
            if any((result(p, row[:4]) or {}).get("by_syscall", {}).get(n) for p in present):
                line(f"`{n}`", lambda r, n=n: r.get("by_syscall", {}).get(n, 0))
        line("other calls", lambda r: r.get("other_syscalls_per_connection"))
        line("handshakes per second (under perf)", lambda r: number(r.get("handshakes_per_second")), 0)
        if row[1] == "implicit":
            line("greeting p50, ms after the handshake", lambda r: number(r.get("greeting_p50_ms")))
        lines.append("")
    lines.append(f"Run: `{params.get('started', '?')}`, {params.get('openssl', '')}, kernel {params.get('kernel', '')}.")
    with open(os.path.join(outdir, "syscalls.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "extract":
        return extract(args[0])
    if cmd == "extract-hold":
        return extract(args[0], hold=True)
    if cmd == "brief":
        return brief(args[0])
    if cmd == "brief-hold":
        return brief_hold(args[0])
    if cmd == "summarize":
        return summarize(*args[:4])
    if cmd == "chart":
        return chart(*args[:3])
    if cmd == "verify-table":
        return verify_table(*args[:2])
    if cmd == "callgrind":
        return callgrind(args[0])
    if cmd == "callgrind-table":
        return callgrind_table(*args[:3])
    if cmd == "targets":
        return targets(*args[:3])
    if cmd == "syscalls":
        return syscalls(*args[:2])
    if cmd == "brief-syscalls":
        return brief_syscalls(args[0])
    if cmd == "syscalls-table":
        return syscalls_table(*args[:4])
    if cmd == "target-cells":
        print("\n".join(":".join(row[:4]) for row in TARGET_ROWS))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
