"""One exception type for bad input, so callers print one clear line instead of a stack trace."""


class DataError(ValueError):
    """Input data is missing or malformed. The message names the file and what is wrong."""


class SubmissionError(ValueError):
    """A submission file does not match its format."""


def show_in_one_line(shell) -> None:
    """In a notebook (an IPython ``shell``), a DataError shows as its one line, without a traceback: it
    says what is missing and which notebook makes it. The cell still fails (papermill, nbval and
    "Run All" stop there)."""

    def one_line(shell, etype, value, tb, tb_offset=None):
        stb = [f"\x1b[0;31m{etype.__name__}\x1b[0m: {value}"]
        shell._showtraceback(etype, value, stb)  # the kernel sends it as the cell's error output
        return stb

    shell.set_custom_exc((DataError, SubmissionError), one_line)
