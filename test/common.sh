# test/common.sh -- shared by test/check.sh and test/demo.sh (sourced).
#
# Defines: say, die, as_root, as_user, RUN_USER, install_deps PKG...
# Callers set SCRIPT (their name, for messages) and PG_CONFIG first.

export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset LANGUAGE

say() { printf '\n==== %s\n' "$*"; }
die() { echo "${SCRIPT:-vecpersist}: $*" >&2; exit 2; }

# Root runs apt-get and make install directly; anyone else through sudo
# (non-interactively when there is no terminal, as in CI).
if [ "$(id -u)" -eq 0 ]; then
	as_root() { "$@"; }
else
	command -v sudo >/dev/null || die "not root and sudo is not installed"
	if [ -t 0 ]; then
		as_root() { sudo "$@"; }
	else
		as_root() { sudo -n "$@"; }
	fi
fi

# Install the Debian/Ubuntu packages among "$@" that are missing, with one
# apt-get update, and only when something is missing.  Ubuntu releases that
# do not ship PostgreSQL 15 get the PostgreSQL project's repository through
# the script Debian's postgresql-common carries.
install_deps() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		echo "all build and test dependencies are installed"
		return 0
	fi
	command -v apt-get >/dev/null ||
		die "missing packages (${missing[*]}) and no apt-get: install them by hand"
	echo "installing: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
		die "apt-get update failed"
	if ! apt-cache show postgresql-15 >/dev/null 2>&1; then
		echo "postgresql-15 is not in the configured repositories: adding the PostgreSQL project's"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-common ||
			die "could not install postgresql-common"
		as_root /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y ||
			die "could not add the PostgreSQL project's repository"
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" || die "apt-get install failed"
}

# PostgreSQL refuses to run as root: root runs servers and builds as
# postgres (created by the postgresql-15 package), others as themselves.
setup_run_user() {
	if [ "$(id -u)" -eq 0 ]; then
		RUN_USER=postgres
		id "$RUN_USER" >/dev/null 2>&1 || die "user postgres does not exist"
		as_user() { runuser -u "$RUN_USER" -- env LC_ALL=C.UTF-8 LANG=C.UTF-8 "$@"; }
	else
		RUN_USER=$(id -un)
		as_user() { "$@"; }
	fi
}

# Copy the source tree (without .git) to directory $2, owned by RUN_USER.
copy_tree() {
	mkdir -p "$2"
	tar -C "$1" --exclude=.git -cf - . | tar -C "$2" -xf - || die "could not copy the tree"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R "$RUN_USER" "$2"
	fi
	chmod 755 "$2"
}
