"""Typed errors. The CLI turns each into one `error: …` line and the exit code below (`npuport --help` lists them)."""


class NpuportError(Exception):
    """Base class: an expected failure with a message fit for one line."""

    exit_code = 1


class ModelLoadError(NpuportError):
    """The model directory is missing, unreadable, unsupported or inconsistent."""

    exit_code = 2


class ConversionError(NpuportError):
    """An export failed or produced an artifact that does not match the source model."""

    exit_code = 3


class ManifestError(NpuportError):
    """A manifest is missing, corrupt, of an unknown schema, or names an unknown variant."""

    exit_code = 4


class IntegrityError(ManifestError):
    """A file does not match the sha256 recorded in the manifest (tampered or truncated)."""


class BucketError(NpuportError):
    """A shape bucket is malformed, impossible for the model, or an input does not fit."""

    exit_code = 5


class BackendUnavailableError(NpuportError):
    """The requested device or runtime is not available here. Never silently replaced by the CPU."""

    exit_code = 6


class InputError(NpuportError):
    """User input (texts, files, tensors) is invalid."""

    exit_code = 7


class OutputBusyError(InputError):
    """Another npuport run is writing the same output (a second run is refused, not queued)."""


class ParityError(NpuportError):
    """A variant failed its validation profile, or lacks the passing validation an action requires."""

    exit_code = 8


class NotReplayedError(NpuportError):
    """`verify` matched every file and every variant it replayed passed, but some variants could not run here (their
    engine or device is missing): not a pass, and not a failure either — a script gating on exit 0 must not ship them."""

    exit_code = 9


class UsageError(NpuportError):
    """The command line does not parse: an unknown option, a missing argument, a number that is not one. (A value
    npuport parses and refuses is an InputError.) 64 is EX_USAGE of BSD's sysexits.h."""

    exit_code = 64
