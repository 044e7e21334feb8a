#!/usr/bin/env bash
# Fetches the peers of the interop matrix into OUTDIR and writes
# OUTDIR/peers.json, the manifest tests/interop/conftest.py reads:
#
#   bash tests/interop/fetch_peers.sh OUTDIR
#
# bookworm: the system's own hv_kvp_daemon and cloud-init (tests/setup.sh
# installs them). trixie and sid: `apt-get download` hyperv-daemons,
# cloud-init and libc6 through a copy of the machine's Debian source entry
# with another Suites: line, with apt's lists kept in OUTDIR; each package
# is unpacked with `dpkg -x` into OUTDIR/<suite>/root. Nothing is installed.
# A newer daemon runs through the loader of its own suite's libc6
# (ld-linux-x86-64.so.2 --library-path), because bookworm's glibc is older
# than the one it was linked against.
#
# Versions are read from the packages, never assumed: sid moves. Whatever
# cannot be fetched is named in the manifest's "problems" and on stderr, and
# the script exits 1; the tests of that release then fail (never skip).
set -uo pipefail

out=${1:?usage: fetch_peers.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
system_entry=/etc/apt/sources.list.d/debian.sources
problems=()
problem() { problems+=("$1"); echo "fetch_peers: $1" >&2; }

# The stanza of the machine's entry that names the release itself (not its
# -security or -updates suites), with Suites: set to $1. Comments are
# dropped; the archive's address is copied, never written here.
entry_for() {
    local suite=$1 codename
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    awk -v codename="$codename" -v suite="$suite" '
        BEGIN { RS = ""; ORS = "\n\n" }
        {
            n = split($0, lines, "\n"); keep = 0; text = ""
            for (i = 1; i <= n; i++) {
                if (lines[i] ~ /^#/) continue
                if (lines[i] ~ /^Suites:/) {
                    m = split(lines[i], words, /[ \t]+/)
                    for (j = 2; j <= m; j++) if (words[j] == codename) keep = 1
                    lines[i] = "Suites: " suite
                }
                text = text lines[i] "\n"
            }
            if (keep) { printf "%s\n", text; exit }
        }' "$system_entry"
}

fetch_suite() {
    local suite=$1 dir="$out/$1"
    rm -rf "$dir"
    mkdir -p "$dir/sources.list.d" "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs" "$dir/root"
    entry_for "$suite" >"$dir/sources.list.d/debian.sources"
    if ! grep -q "^Suites: $suite\$" "$dir/sources.list.d/debian.sources"; then
        problem "$suite: no stanza for this release in $system_entry to copy"
        return 1
    fi
    local apt=(apt-get -qq
        -o "Dir::Etc::SourceList=/dev/null"
        -o "Dir::Etc::SourceParts=$dir/sources.list.d"
        -o "Dir::State::Lists=$dir/lists"
        -o "Dir::Cache=$dir/cache"
        -o "APT::Sandbox::User=root"
        -o "Acquire::Languages=none")
    if ! "${apt[@]}" update >"$dir/apt-update.log" 2>&1; then
        problem "$suite: apt-get update failed: $(tail -n 3 "$dir/apt-update.log" | tr '\n' ' ')"
        return 1
    fi
    local package deb ok=0
    for package in hyperv-daemons cloud-init libc6; do
        if ! (cd "$dir/debs" && "${apt[@]}" download "$package" >>"$dir/apt-download.log" 2>&1); then
            problem "$suite: apt-get download $package failed: $(tail -n 2 "$dir/apt-download.log" | tr '\n' ' ')"
            ok=1
            continue
        fi
        deb=$(ls "$dir/debs/${package}"_*.deb 2>/dev/null | head -n 1)
        if [ -z "$deb" ] || ! dpkg -x "$deb" "$dir/root"; then
            problem "$suite: $package did not unpack"
            ok=1
            continue
        fi
        dpkg-deb -f "$deb" Version >"$dir/$package.version"
    done
    return $ok
}

for suite in trixie sid; do
    echo "fetch_peers: fetching $suite's hyperv-daemons, cloud-init and libc6"
    fetch_suite "$suite"
done

PROBLEMS=$(printf '%s\n' "${problems[@]+"${problems[@]}"}") OUT="$out" python3 - <<'EOF'
import json, os, subprocess
from pathlib import Path

out = Path(os.environ["OUT"])
problems = [p for p in os.environ["PROBLEMS"].splitlines() if p]


def installed(package):
    result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def cloudinit_site(root):
    for handlers in sorted(Path(root).glob("usr/lib/python3*/dist-packages/cloudinit/reporting/handlers.py")):
        return str(handlers.parents[2])
    return None


releases = []
for suite in ("bookworm", "trixie", "sid"):
    if suite == "bookworm":
        root, libdir = Path("/"), None
        daemon_version, ci_version = installed("hyperv-daemons"), installed("cloud-init")
    else:
        root = out / suite / "root"
        libdir = root / "usr/lib/x86_64-linux-gnu"
        version = lambda p: (out / suite / f"{p}.version").read_text().strip() \
            if (out / suite / f"{p}.version").exists() else None
        daemon_version, ci_version = version("hyperv-daemons"), version("cloud-init")
        libc = version("libc6")
    daemon = root / "usr/sbin/hv_kvp_daemon"
    release = {
        "suite": suite,
        "daemon": str(daemon) if daemon_version and daemon.exists() else None,
        "daemon_version": daemon_version,
        "loader": str(libdir / "ld-linux-x86-64.so.2") if libdir else None,
        "libdir": str(libdir) if libdir else None,
        "libc_version": libc if suite != "bookworm" else installed("libc6"),
        "cloudinit_site": cloudinit_site(root) if ci_version else None,
        "cloudinit_version": ci_version,
    }
    if release["daemon"] is None:
        problems.append(f"{suite}: no hv_kvp_daemon (hyperv-daemons)")
    if release["cloudinit_site"] is None:
        problems.append(f"{suite}: no cloud-init")
    if libdir and not Path(release["loader"]).exists():
        problems.append(f"{suite}: no ld-linux-x86-64.so.2 in its libc6")
    # Each peer's tests fail with the problems that concern it: its own
    # package, or the suite as a whole (apt-get update, the source entry).
    mine = [p for p in problems if p.startswith(f"{suite}:")]
    daemon_words, ci_words = ("hyperv-daemons", "libc6"), ("cloud-init",)
    general = [p for p in mine if not any(w in p for w in daemon_words + ci_words)]
    release["daemon_problem"] = "; ".join(general + [p for p in mine if any(w in p for w in daemon_words)])
    release["cloudinit_problem"] = "; ".join(general + [p for p in mine if any(w in p for w in ci_words)])
    releases.append(release)

(out / "peers.json").write_text(json.dumps({"releases": releases, "problems": problems}, indent=1) + "\n")
for r in releases:
    print(f"fetch_peers: {r['suite']:9} hyperv-daemons {r['daemon_version']}, "
          f"cloud-init {r['cloudinit_version']}, libc6 {r['libc_version']}")
EOF
[ ${#problems[@]} -eq 0 ]
