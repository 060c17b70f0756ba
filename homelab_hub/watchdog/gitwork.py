"""Git for the Claude tier: a clean worktree on a branch of its own, and the deploy and revert
of Claude's commit in the checkout the service runs from.

The service's checkout is only ever moved by fast-forward to Claude's branch (deploy) and back
with ``git reset --keep`` to the commit it was on (revert), and only while it is clean, so
nobody's work in progress is touched and the checkout is never left dirty. Claude works in a
separate worktree outside the repository, removed afterwards; its branch is kept, so that a
human can read what was tried. Every call is an argv list with a timeout and no terminal
prompt; our own merge and reset run with hooks disabled.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_S = 60
_NO_HOOKS = ("-c", f"core.hooksPath={os.devnull}")


class GitError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def git(cwd: Path, *args: str, timeout: float = GIT_TIMEOUT_S) -> str:
    """Run git in ``cwd``; returns stdout stripped. Raises GitError with git's own words."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed on this host") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {' '.join(args[:2])} did not finish within {timeout:.0f}s") from exc
    except OSError as exc:
        raise GitError(f"git could not run in {cwd}: {exc}") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])} failed in {cwd}: {said[-1] if said else done.returncode}")
    return done.stdout.strip()


def toplevel(repo: Path) -> Path:
    """The checkout's root. Raises GitError when ``repo`` is not in a git repository."""
    return Path(git(repo, "rev-parse", "--show-toplevel"))


def changes(path: Path) -> list[str]:
    """Uncommitted changes to tracked files (``git status --porcelain``); [] when clean."""
    out = git(path, "status", "--porcelain", "--untracked-files=no")
    return [line for line in out.splitlines() if line.strip()]


def head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD")


def branch_name(repo: Path, service: str, incident_id: int) -> str:
    """``watchdog/<service>/<incident>``, made a valid ref and new (``-2``... when taken)."""
    base = f"watchdog/{re.sub(r'[^A-Za-z0-9_.-]+', '-', service).strip('.-') or 'service'}/{incident_id}"
    base = base.replace("..", "-")
    name, n = base, 1
    while True:
        try:
            git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}")
        except GitError:
            return name
        n += 1
        name = f"{base}-{n}"


@dataclass
class Worktree:
    repo: Path  # the service's checkout (its root)
    path: Path  # the worktree Claude works in
    branch: str
    base: str  # the commit both started from


def create(repo: Path, branch: str) -> Worktree:
    """A fresh worktree of ``repo``'s HEAD on a new branch, in a temporary folder outside it."""
    base = head(repo)
    parent = Path(tempfile.mkdtemp(prefix="homelab-hub-claude-"))
    path = parent / "worktree"
    git(repo, "worktree", "add", "--quiet", "-b", branch, str(path), base)
    return Worktree(repo=repo, path=path, branch=branch, base=base)


def commits(wt: Worktree) -> list[str]:
    """Commits on the branch since its base, oldest first."""
    out = git(wt.repo, "rev-list", "--reverse", f"{wt.base}..refs/heads/{wt.branch}")
    return out.split()


def remove(wt: Worktree) -> None:
    """Remove the worktree (uncommitted changes in it go with it); the branch stays."""
    try:
        git(wt.repo, "worktree", "remove", "--force", str(wt.path))
    finally:
        git(wt.repo, "worktree", "prune")
        try:
            wt.path.parent.rmdir()
        except OSError:
            pass


def drop_branch(wt: Worktree) -> None:
    """Delete the branch when it holds nothing (Claude committed nothing)."""
    git(wt.repo, "branch", "--quiet", "-D", wt.branch)


def diffstat(wt: Worktree) -> str:
    return git(wt.repo, "diff", "--stat", wt.base, f"refs/heads/{wt.branch}")


def deploy(wt: Worktree) -> str:
    """Fast-forward the service's checkout to the branch; returns the new HEAD.

    Raises GitError when the checkout changed meanwhile (new commits or uncommitted changes).
    """
    dirty = changes(wt.repo)
    if dirty:
        raise GitError(f"{wt.repo} has uncommitted changes since Claude started ({dirty[0]} ...)")
    if head(wt.repo) != wt.base:
        raise GitError(f"{wt.repo} moved to another commit while Claude worked")
    git(wt.repo, *_NO_HOOKS, "merge", "--ff-only", "--quiet", f"refs/heads/{wt.branch}")
    return head(wt.repo)


def revert(wt: Worktree) -> None:
    """Put the service's checkout back on the commit it ran before the deploy."""
    git(wt.repo, *_NO_HOOKS, "reset", "--keep", "--quiet", wt.base)
