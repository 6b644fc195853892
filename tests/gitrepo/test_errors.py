"""Sorting git's stderr (LC_ALL=C) into transient and permanent errors with useful messages."""

from __future__ import annotations

import re

import pytest

from orbit.gitrepo import CorruptWorkingCopy, GitError, PermanentGitError, TransientGitError
from orbit.gitrepo.errors import Context, classify

SSH = Context(
    action="fetch", url="ssh://git@h/x.git", host="127.0.0.21:2222", branch="main", ssh=True
)
HTTPS = Context(action="push", url="https://h/x.git", host="h:443", branch="main")

CASES = [
    (
        SSH,
        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
        "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
        "Host key for [127.0.0.21]:2222 has changed and you have requested strict checking.\n"
        "Host key verification failed.\nfatal: Could not read from remote repository.\n",
        PermanentGitError,
        "the host key of 127.0.0.21:2222 does not match the pinned known_hosts",
    ),
    (
        SSH,
        "No ED25519 host key is known for [127.0.0.21]:2222 and you have requested strict "
        "checking.\r\nHost key verification failed.\r\n",
        PermanentGitError,
        r"no host key is pinned for 127.0.0.21:2222.*ssh-keyscan -p 2222 127.0.0.21",
    ),
    (
        SSH,
        "root@127.0.0.21: Permission denied (publickey).\r\n"
        "fatal: Could not read from remote repository.\n",
        PermanentGitError,
        "127.0.0.21:2222 refused the SSH key",
    ),
    (
        HTTPS,
        "fatal: could not read Username for 'https://h': terminal prompts disabled\n",
        PermanentGitError,
        "h:443 refused the credentials",
    ),
    (
        HTTPS,
        "remote: HTTP Basic: Access denied\nfatal: Authentication failed for 'https://h/x.git/'\n",
        PermanentGitError,
        "refused the credentials",
    ),
    (
        HTTPS,
        "fatal: unable to access 'https://h/x.git/': The requested URL returned error: 403\n",
        PermanentGitError,
        "refused the credentials",
    ),
    (HTTPS, "fatal: repository 'https://h/x.git/' not found\n", PermanentGitError, "no repository"),
    (
        SSH,
        "fatal: '/srv/x.git' does not appear to be a git repository\n",
        PermanentGitError,
        "no repository at ssh://git@h/x.git",
    ),
    (SSH, "fatal: couldn't find remote ref refs/heads/main\n", PermanentGitError, "branch 'main'"),
    (
        HTTPS,
        "fatal: unable to access 'https://h/': SSL certificate problem: self-signed certificate\n",
        PermanentGitError,
        "TLS certificate of h:443 is not trusted",
    ),
    (
        HTTPS,
        " ! [remote rejected] main -> main (pre-receive hook declined)\n",
        PermanentGitError,
        "refused the push to branch 'main'",
    ),
    (
        SSH,
        "fatal: not a git repository: '/data/gitops/u/.git'\n",
        CorruptWorkingCopy,
        "cloned again",
    ),
    (
        SSH,
        "ssh: connect to host 127.0.0.21 port 2222: Connection refused\r\n",
        TransientGitError,
        "will retry",
    ),
    (
        HTTPS,
        "fatal: unable to access 'https://h/': Could not resolve host: h\n",
        TransientGitError,
        "will retry",
    ),
    (SSH, "fatal: the remote end hung up unexpectedly\n", TransientGitError, "will retry"),
    (HTTPS, "error: RPC failed; HTTP 502 curl 22\n", TransientGitError, "will retry"),
    (
        SSH,
        "fatal: Unable to create '/data/x/.git/index.lock': File exists.\n",
        TransientGitError,
        "lock",
    ),
    (
        HTTPS,
        "remote: error: cannot lock ref 'refs/heads/main': is at 1 but expected 2\n",
        TransientGitError,
        "will retry",
    ),
    (SSH, "something git never said before\n", TransientGitError, "will retry"),
]


@pytest.mark.parametrize(("context", "stderr", "kind", "message"), CASES)
def test_stderr_is_sorted_with_a_message_to_act_on(
    context: Context, stderr: str, kind: type[GitError], message: str
) -> None:
    error = classify(stderr, context)
    assert type(error) is kind
    assert isinstance(error, GitError)
    assert re.search(message, str(error)), str(error)


def test_the_message_keeps_git_own_words_short() -> None:
    error = classify("hint: noise\n" * 50 + "fatal: x\n" * 500, HTTPS)
    assert "hint" not in str(error)
    assert len(str(error)) < 700


def test_credential_shapes_are_masked_even_when_not_known() -> None:
    said = (
        "fatal: unable to access 'https://ghp_unknown@h/x.git/'\n"
        "warning: redirecting to https://user:pw123@h/x.git/\n"
        "> Authorization: Bearer eyJhbGciOi\n"
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXkt\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    message = str(classify(said, HTTPS))
    for secret in ("ghp_unknown", "pw123", "eyJhbGciOi", "b3BlbnNzaC1rZXkt"):
        assert secret not in message
