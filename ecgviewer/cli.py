"""``ecgad``: the command line. ``ecgad info FILE`` describes an ECG file; ``ecgad convert IN
OUT`` writes it as WFDB, EDF+ or HL7 aECG; ``ecgad score FILE...`` scores files with the bundled
model (a table, ``--json`` or ``--csv OUT``); ``train`` and ``evaluate`` hand over to the model
package.

Exit status, the same for every subcommand (README "Command line"): 0 done; 1 an unexpected
error (a bug: rerun with ``--debug`` for the traceback); 2 bad input (an unreadable or unscorable
file, a missing or tampered model, a wrong option), printed as ``ecgad: <message>`` on stderr,
never as a traceback; 130 interrupted. ``--debug`` may come anywhere on the line. Torch is
imported only once a model is needed, so ``ecgad --help`` and ``ecgad score --help`` are fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from collections import Counter
from collections.abc import Sequence

from ecgviewer.errors import ECGError
from ecgviewer.record import CART_MEASUREMENT_UNITS, CartReading, Record, RecordEntry

__all__ = ["MODEL_COMMANDS", "build_parser", "describe", "format_entries", "main"]

#: Subcommands implemented in the model package: name -> (module, one-line help).
#: Each module exposes ``main(argv: list[str]) -> int | None`` with its own argparse.
MODEL_COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("model.train", "train the anomaly model on normal ECGs"),
    "evaluate": ("model.evaluate", "evaluate a trained model (AUROC, localisation)"),
}

#: Readers whose files carry no sampling rate (``--fs`` is needed and used).
RATE_FROM_USER = frozenset({"npy", "csv"})

EXIT_OK = 0
EXIT_BUG = 1  # an unexpected error
EXIT_ERROR = 2  # bad input: a file, the model, an option (argparse uses 2 too)
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the tests and for shell-completion tools)."""
    parser = argparse.ArgumentParser(
        prog="ecgad",
        description="ECG files and the ECG anomaly model from the command line.",
        epilog="Exit status, the same for every command: 0 done; 1 unexpected error (a bug: "
        "rerun with --debug); 2 bad input (an unreadable or unscorable file, a missing "
        "model, a wrong option); 130 interrupted. --debug may follow the command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--debug", action="store_true", help="log details and show tracebacks (for bug reports)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    info = sub.add_parser(
        "info",
        help="describe an ECG file: leads, rate, duration, patient, annotations",
        description="Describe an ECG file. A file holding many ECGs lists them; --entry shows one.",
    )
    info.add_argument(
        "file",
        metavar="FILE",
        help="ECG file (WFDB, EDF/BDF, HDF5, HL7 aECG, SCP-ECG, Philips XML, ...)",
    )
    info.add_argument(
        "--fs",
        type=_positive_float,
        metavar="HZ",
        help="sampling rate, for formats that do not store one (.npy, .csv)",
    )
    info.add_argument("--entry", metavar="KEY", help="for files with many ECGs: show this one")

    convert = sub.add_parser(
        "convert",
        help="write an ECG file as WFDB, EDF+ or HL7 aECG",
        description="Convert an ECG file. The output format comes from --format or from the "
        "extension of OUT (.hea/.dat: WFDB, .edf: EDF+, .xml: HL7 aECG). Existing files are "
        "not replaced unless --overwrite is given.",
    )
    convert.add_argument("file", metavar="IN", help="ECG file in any format ecgad reads")
    convert.add_argument("out", metavar="OUT", help="output file (WFDB: the .hea or record name)")
    convert.add_argument(
        "--format",
        choices=("wfdb", "edf", "hl7aecg"),
        help="output format (default: from the extension of OUT)",
    )
    convert.add_argument(
        "--fs",
        type=_positive_float,
        metavar="HZ",
        help="sampling rate, for inputs that do not store one (.npy, .csv)",
    )
    convert.add_argument(
        "--entry", metavar="KEY", help="for files with many ECGs: convert this one"
    )
    convert.add_argument("--overwrite", action="store_true", help="replace existing output files")
    score = sub.add_parser(
        "score",
        help="score ECG files with the anomaly model (table, --json or --csv)",
        description="Score ECG files with the bundled anomaly model. Prints one row per ECG: "
        "file, percentile against normal ECGs, verdict, the most unusual leads and "
        "notes. A file that cannot be scored gets a row saying why; the exit status "
        "is then 2. A whole archive (a folder, a PTB-XL database CSV, or any source "
        "with --out RESULTS.csv) is scored into a resumable results table: see "
        "'ecgad score ARCHIVE --out RESULTS.csv --help'.",
    )
    score.add_argument("files", nargs="+", metavar="FILE", help="ECG files (any supported format)")
    out = score.add_mutually_exclusive_group()
    out.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array instead of the table (no NaN: missing values are null)",
    )
    out.add_argument("--csv", metavar="OUT", help="also write the table to OUT as CSV")
    score.add_argument(
        "--weights",
        metavar="PATH",
        help="model weights (default: the bundled weights, checked against their card)",
    )
    score.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="where the model runs (default: auto, the GPU when there is one)",
    )
    score.add_argument(
        "--fs",
        type=_positive_float,
        metavar="HZ",
        help="sampling rate, for formats that do not store one (.npy, .csv)",
    )

    meas = sub.add_parser(
        "measure",
        help="global intervals, axes and per-lead amplitudes from the median beats, as JSON",
        description="Measure an ECG like an electrocardiograph (ecgviewer.signal.intervals.measure).",
    )
    meas.add_argument("file", metavar="FILE", help="ECG file")
    meas.add_argument(
        "--fs",
        type=_positive_float,
        metavar="HZ",
        help="sampling rate, for formats that do not store one (.npy, .csv)",
    )
    meas.add_argument("--entry", metavar="KEY", help="for files with many ECGs: measure this one")

    # Model subcommands: registered for --help; their arguments belong to their own parsers.
    for name, (_module, text) in MODEL_COMMANDS.items():
        sub.add_parser(name, help=f"{text} (see: ecgad {name} --help)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ecgad``; returns the exit status (the console script passes it to ``sys.exit``)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    rest = [a for a in args_list if a != "--debug"]  # --debug is taken anywhere on the line
    try:
        # Model subcommands get the rest of the line untouched, so their parsers own it.
        if rest and rest[0] == "score":
            from ecgviewer.analysis import archive_command

            if archive_command.wants_archive(rest[1:]):  # a folder, a database CSV, --out
                return archive_command.main(rest[1:])
        if rest and rest[0] in MODEL_COMMANDS:
            return _run_model_command(rest[0], rest[1:])
        args = build_parser().parse_args(rest)
        if args.command == "info":
            return _info(args.file, fs=args.fs, entry=args.entry)
        if args.command == "convert":
            return _convert(
                args.file,
                args.out,
                fmt=args.format,
                fs=args.fs,
                entry=args.entry,
                overwrite=args.overwrite,
            )
        if args.command == "score":
            from ecgviewer.analysis.score_table import score_files

            return score_files(
                args.files,
                json_out=args.json,
                csv_out=args.csv,
                weights=args.weights,
                device=args.device,
                fs=args.fs,
            )
        if args.command == "measure":
            return _measure(args.file, fs=args.fs, entry=args.entry)
        return EXIT_ERROR  # unreachable: argparse requires a known command
    except ECGError as exc:
        return _fail(str(exc), debug)
    except KeyboardInterrupt:
        print("ecgad: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        return _fail("not enough memory for this operation", debug)
    except Exception as exc:  # a bug: say so briefly; --debug shows the traceback
        hint = "" if debug else " (rerun with --debug for details)"
        return _fail(f"unexpected error: {type(exc).__name__}: {exc}{hint}", debug, EXIT_BUG)


def _fail(message: str, debug: bool, status: int = EXIT_ERROR) -> int:
    if debug:
        traceback.print_exc()
    print(f"ecgad: {message}", file=sys.stderr)
    return status


# ---------------------------------------------------------------------------- measure
def _measure(path: str, *, fs: float | None, entry: str | None) -> int:
    import json

    from ecgviewer import io
    from ecgviewer.signal.intervals import measure

    result = io.read(path, **({} if fs is None else {"fs": fs}))
    if isinstance(result, list):
        chosen = [e for e in result if entry is None or e.key == entry]
        if not chosen:
            raise ECGError(path, f"no entry {entry!r} in this file")
        result = chosen[0].load()
    m = measure(result)
    out = {"file": path, **m.summary()}
    if result.cart is not None and result.cart.measurements:
        out["cart"] = dict(result.cart.measurements)
    print(json.dumps(out, indent=1, default=float))
    return EXIT_OK


# ---------------------------------------------------------------------------- info
def _info(path: str, *, fs: float | None, entry: str | None) -> int:
    from ecgviewer import io

    opts = {} if fs is None else {"fs": fs}
    if fs is not None and io.reader_for(path).name not in RATE_FROM_USER:
        print(
            f"ecgad: {path}: the file stores its own sampling rate; --fs ignored", file=sys.stderr
        )
    result = io.read(path, **opts)
    if isinstance(result, list):
        if entry is None:
            print(format_entries(path, result))
            return EXIT_OK
        chosen = [e for e in result if e.key == entry]
        if not chosen:
            keys = ", ".join(e.key for e in result[:5])
            print(
                f"ecgad: {path}: no ECG with key {entry!r} (keys: {keys}"
                f"{', ...' if len(result) > 5 else ''})",
                file=sys.stderr,
            )
            return EXIT_ERROR
        print(f"entry     {chosen[0].key} ({chosen[0].label})")
        print(describe(chosen[0].load()))
        return EXIT_OK
    if entry is not None:
        print(f"ecgad: {path}: holds a single ECG; --entry {entry} ignored", file=sys.stderr)
    print(describe(result))
    return EXIT_OK


def _convert(
    path: str, out: str, *, fmt: str | None, fs: float | None, entry: str | None, overwrite: bool
) -> int:
    from ecgviewer import io
    from ecgviewer.io.writers import write

    opts = {} if fs is None else {"fs": fs}
    result = io.read(path, **opts)
    if isinstance(result, list):
        chosen = [e for e in result if e.key == entry] if entry is not None else result[:1]
        if not chosen or (entry is None and len(result) > 1):
            keys = ", ".join(e.key for e in result[:5])
            print(
                f"ecgad: {path}: holds {len(result)} ECGs: choose one with --entry KEY "
                f"(keys: {keys}{', ...' if len(result) > 5 else ''})",
                file=sys.stderr,
            )
            return EXIT_ERROR
        record = chosen[0].load()
    else:
        record = result
    written = write(record, out, fmt, overwrite=overwrite)
    for p in written.paths:
        print(f"wrote     {p}")
    for note in written.notes:
        print(f"note      {note}")
    return EXIT_OK


def describe(record: Record, top: int = 5) -> str:
    """``Record.summary()`` plus the most frequent annotation texts (what the file marks)."""
    lines = record.summary().splitlines()
    if record.annotations:
        counts = Counter(a.text or "(no text)" for a in record.annotations)
        common = ", ".join(
            f"{n}x {label if len(label) <= 40 else label[:37] + '...'}"
            for label, n in counts.most_common(top)
        )
        more = f", ... ({len(counts)} kinds)" if len(counts) > top else ""
        at = next(
            (i + 1 for i, line in enumerate(lines) if line.startswith("annotations")), len(lines)
        )
        lines.insert(at, f"  most common: {common}{more}")
    if record.cart is not None:
        lines.extend(describe_cart(record.cart))
    return "\n".join(lines + quality_lines(record))


#: ``ecgad info`` checks the signal quality of at most this many seconds (from the start).
QUALITY_SECONDS = 60.0


def quality_lines(record: Record) -> list[str]:
    """Signal quality of the first minute (ecgviewer.signal.quality): what is off, and where."""
    from ecgviewer.signal.quality import assess_record

    if not record.ecg_leads or record.duration <= 0:
        return []
    part = record if record.duration <= QUALITY_SECONDS else record.slice(0.0, QUALITY_SECONDS)
    quality = assess_record(part)
    scope = f" (first {QUALITY_SECONDS:g} s)" if part is not record else ""
    lines = [
        f"quality   {quality.headline() or 'no lead off, clipped, heavily noisy or reversed'}{scope}"
    ]
    return lines + [f"  {line}" for line in quality.detail_lines()]


_CART_LABELS = {
    "heart_rate": "HR",
    "rr": "RR",
    "p_duration": "P",
    "pr": "PR",
    "qrs": "QRS",
    "qt": "QT",
    "qtc": "QTc",
    "p_axis": "P axis",
    "qrs_axis": "QRS axis",
    "t_axis": "T axis",
    "qtcf": "QTcF",
    "atrial_rate": "atrial rate",
}
_EXTRA_UNITS = {"qtcf": "ms", "atrial_rate": "bpm"}


def describe_cart(cart: CartReading) -> list[str]:
    """The cart's own reading as ``ecgad info`` lines: measurements, statements, beats."""
    parts = []
    for key, value in cart.measurements.items():
        unit = CART_MEASUREMENT_UNITS.get(key) or _EXTRA_UNITS.get(key, "")
        parts.append(f"{_CART_LABELS.get(key, key)} {value:g}{' ' + unit if unit else ''}")
    lines = [f"cart      {cart.source or 'the file'}: " + (", ".join(parts) or "no measurements")]
    lines += [f"  says    {text}" for text in cart.statements]
    if cart.median_beats is not None:
        n_leads, n = cart.median_beats.shape
        lines.append(f"  median beats {n_leads} leads x {n} samples at {cart.median_fs or 0:g} Hz")
    return lines


def format_entries(path: str, entries: list[RecordEntry]) -> str:
    """A plain-text table of a collection's ECGs (one line each)."""
    header = ("key", "label", "patient", "age", "sex", "start")
    rows = [
        (
            e.key,
            e.label,
            e.patient.id or "-",
            "-" if e.patient.age is None else f"{e.patient.age:g}",
            e.patient.sex or "-",
            e.start.isoformat(sep=" ") if e.start else "-",
        )
        for e in entries
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [f"file      {path}", f"ECGs      {len(entries)} (show one with --entry KEY)", ""]
    lines += [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- model hooks
def _run_model_command(name: str, argv: list[str]) -> int:
    """HOOK for the model package: import ``MODEL_COMMANDS[name]`` lazily and call its main."""
    module_name = MODEL_COMMANDS[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
            print(
                f"ecgad: '{name}' is not available in this installation "
                f"(module {module_name} not found)",
                file=sys.stderr,
            )
        else:
            print(
                f"ecgad: '{name}' needs the Python package '{exc.name}', which is not installed",
                file=sys.stderr,
            )
        return EXIT_ERROR
    entry = getattr(module, "main", None)
    if not callable(entry):
        print(f"ecgad: '{name}' is not available: {module_name} has no main()", file=sys.stderr)
        return EXIT_ERROR
    status = entry(argv)
    return EXIT_OK if status is None else int(status)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of Hz")
    return value


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("ecgviewer")
    except Exception:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
