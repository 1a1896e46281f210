"""Running the `idvid` command in-process for tests (unique name: imported by tests)."""

from idvid.cli import main


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `idvid ARGV...`."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_line(stderr: str) -> str:
    """The one error line; other stderr lines are progress notes."""
    errors = [line for line in stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, stderr
    return errors[0]
