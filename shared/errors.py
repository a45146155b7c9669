"""One exception type for bad input, so callers print one clear line instead of a stack trace."""


class DataError(ValueError):
    """Input data is missing or malformed. The message names the file and what is wrong."""


class SubmissionError(ValueError):
    """A submission file does not match its format."""
