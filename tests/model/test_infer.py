"""Detector: weight integrity, safe loading, batching, and (with the bundled weights) that an
inserted abnormality scores higher and is localized where it was inserted."""

from __future__ import annotations

import json
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from ecgviewer import io
from ecgviewer.errors import ModelError, ScoringCancelled
from ecgviewer.record import Record
from model.data import ptbxl_split
from model.infer import Detector, ScoreResult, sha256_of
from model.localization_benchmark import as_record, insert
from model.network import CrossRestorationNet
from tests.model.conftest import bundled_weights, synthetic_record, tiny_config


def write_weights(folder: Path, with_card: bool = True, seed: int = 0) -> Path:
    """A tiny network saved in the bundled layout (+ a model card holding its sha256)."""
    cfg = tiny_config()
    torch.manual_seed(seed)
    net = CrossRestorationNet(cfg)
    path = folder / "weights.pt"
    torch.save(
        {
            "config": cfg.to_dict(),
            "state_dict": net.state_dict(),
            "meta": {"score_kind": "combined_nll"},
        },
        path,
    )
    if with_card:
        card = {
            "weights_sha256": sha256_of(path),
            "version": "test",
            "threshold": 1.0,
            "calibration": {"normal_score_quantiles": [0.0, 1.0, 2.0, 3.0, 4.0]},
        }
        (folder / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    return path


def test_load_checks_the_card_and_reports_the_model(tmp_path: Path) -> None:
    path = write_weights(tmp_path)
    det = Detector.load(path, device="cpu")
    assert det.model_info["sha256"] == sha256_of(path)
    assert det.model_info["version"] == "test"
    assert det.percentile_of(2.5) == pytest.approx(60.0)  # 3 of the 5 quantiles are <= 2.5
    assert det.percentile_of(-1.0) == 0.0 and det.percentile_of(10.0) == 100.0


def test_tampered_weights_are_rejected(tmp_path: Path) -> None:
    path = write_weights(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError) as info:
        Detector.load(path, device="cpu")
    assert str(path) in str(info.value)
    assert "sha256" in str(info.value) and "modified or replaced" in str(info.value)


def write_card(path: Path, **extra: object) -> Path:
    """A model card naming the weights' current sha256."""
    card = {"weights_sha256": sha256_of(path), "version": "test", **extra}
    (path.parent / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    return path


def test_corrupt_weights_are_rejected(tmp_path: Path) -> None:
    path = write_weights(tmp_path, with_card=False)
    path.write_bytes(path.read_bytes()[:2000])  # truncated archive
    write_card(path)
    with pytest.raises(ModelError, match="could not be loaded") as info:
        Detector.load(path, device="cpu")
    assert str(path) in str(info.value)


def _tamper(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "card, words",
    [
        (None, "no model card (model_card.json) beside the weights"),
        ({"version": "x"}, "has no weights_sha256"),
        ({"weights_sha256": ""}, "has no weights_sha256"),
        ({"weights_sha256": "  "}, "has no weights_sha256"),
        ({"weights_sha256": None}, "has no weights_sha256"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_tampered_weights_without_a_usable_card_are_refused(tmp_path: Path, card, words) -> None:
    """The sha256 check used to be skipped when the card or its hash was missing."""
    path = write_weights(tmp_path, with_card=False)
    _tamper(path)
    if card is not None:
        text = card if isinstance(card, str) else json.dumps(card)
        (tmp_path / "model_card.json").write_text(text, encoding="utf-8")
    with pytest.raises(ModelError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Detector.load(path, device="cpu")


def _nan_weights(folder: Path) -> Path:
    cfg = tiny_config()
    net = CrossRestorationNet(cfg)
    state = net.state_dict()
    name = next(k for k, v in state.items() if v.is_floating_point() and v.ndim > 1)
    state[name] = torch.full_like(state[name], float("nan"))
    path = folder / "weights.pt"
    torch.save(
        {"config": cfg.to_dict(), "state_dict": state, "meta": {"score_kind": "combined_w"}}, path
    )
    return write_card(path)


def test_nan_weights_are_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="NaN or infinite values"):
        Detector.load(_nan_weights(tmp_path), device="cpu")


def test_probe_refuses_a_model_with_non_finite_outputs(tmp_path: Path, monkeypatch) -> None:
    """Finite weights can still give NaN (e.g. overflow): the probe ECG catches it at load."""
    det = Detector.load(write_weights(tmp_path), device="cpu")
    with torch.no_grad():
        for param in det.net.parameters():
            param.mul_(1e30)  # finite, but every activation overflows
    with pytest.raises(ModelError, match="built-in probe ECG"):
        det.check_probe("weights.pt")


def test_non_finite_score_is_an_error_never_a_number(tmp_path: Path, monkeypatch) -> None:
    import model.infer as infer

    det = Detector.load(write_weights(tmp_path), device="cpu")
    rec = synthetic_record(500, 10)[0]
    real_finish = infer.Detector._finish

    def nan_finish(self, *args, **kwargs):  # noqa: ANN001, ANN202
        res = real_finish(self, *args, **kwargs)
        res.score = float("nan")
        return res

    monkeypatch.setattr(infer.Detector, "_finish", nan_finish)
    out = det.score_many([rec])[0]
    assert isinstance(out, ModelError) and "non-finite score" in str(out)
    with pytest.raises(ModelError, match="non-finite"):
        det.score(rec)


def test_missing_weights_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found") as info:
        Detector.load(tmp_path / "nope.pt", device="cpu")
    assert "nope.pt" in str(info.value)


def test_load_passes_weights_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_weights(tmp_path)
    calls: list[dict] = []
    real_load = torch.load

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    Detector.load(path, device="cpu")
    assert calls and all(c.get("weights_only") is True for c in calls)


class _Payload:
    """Unpickling this runs code (writes a marker file): what weights_only=True must refuse."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (Path.write_text, (Path(self.marker), "executed"))


def test_weights_with_code_are_refused_without_running_it(tmp_path: Path) -> None:
    path = write_weights(tmp_path, with_card=False)
    blob = torch.load(path, weights_only=True)
    marker = tmp_path / "pwned.txt"
    blob["meta"] = {"score_kind": _Payload(str(marker))}
    torch.save(blob, path)
    write_card(path)  # a matching card: the safe unpickler itself must refuse
    assert zipfile.is_zipfile(path)
    with pytest.raises(ModelError, match="could not be loaded"):
        Detector.load(path, device="cpu")
    assert not marker.exists()


def test_score_many_equals_one_by_one_and_reports_progress(tmp_path: Path) -> None:
    det = Detector.load(write_weights(tmp_path), device="cpu")
    recs = [
        synthetic_record(fs, sec, seed=i)[0]
        for i, (fs, sec) in enumerate([(500, 10), (250, 25), (100, 4)])
    ]
    bad = Record(np.zeros((2, 5000), np.float32), 500.0, ["I", "II"], source="two_leads.edf")
    seen: list[tuple[int, int]] = []
    many = det.score_many(
        [recs[0], bad, recs[1], recs[2]], batch=2, progress=lambda d, t: seen.append((d, t))
    )
    assert "two_leads.edf" in str(many[1])
    for rec, res in zip(recs, [many[0], many[2], many[3]]):
        one = det.score(rec)
        assert res.score == pytest.approx(one.score, rel=1e-4)
        np.testing.assert_allclose(res.anomaly_map, one.anomaly_map, rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(res.restored, one.restored, rtol=1e-3, atol=1e-5)
        assert res.model["sha256"] == det.model_info["sha256"]
    total = seen[-1][1]
    assert seen[0] == (0, total) and seen[-1] == (total, total) and total >= 4  # 25 s: 3+ windows
    with pytest.raises(ScoringCancelled):
        det.score_many(recs, batch=1, cancel=lambda: True)


def test_prepared_elsewhere_scores_exactly_as_prepared_here(tmp_path: Path) -> None:
    """The archive pipeline prepares in worker processes (Detector.preparer, pickled): the
    results must be those of score_many, bit for bit, including the signal-quality flags."""
    import pickle

    det = Detector.load(write_weights(tmp_path), device="cpu")
    recs = [
        synthetic_record(fs, sec, seed=i)[0] for i, (fs, sec) in enumerate([(500, 10), (250, 25)])
    ]
    bad = Record(np.zeros((2, 5000), np.float32), 500.0, ["I", "II"], source="two_leads.edf")
    recs.append(bad)
    preparer = pickle.loads(pickle.dumps(det.preparer()))
    prepared = [preparer(r) for r in recs]
    prepared[:2] = [pickle.loads(pickle.dumps(p)) for p in prepared[:2]]
    gen = det.iter_score_many(recs, batch=2, prepared=prepared)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        there = stop.value
    here = det.score_many(recs, batch=2)
    assert "two_leads.edf" in str(there[2]) and "two_leads.edf" in str(here[2])
    for a, b in zip(here[:2], there[:2], strict=True):
        assert a.score == b.score and a.percentile == b.percentile and a.flags == b.flags
        np.testing.assert_array_equal(a.anomaly_map, b.anomaly_map)
        np.testing.assert_array_equal(a.restored, b.restored)
        assert a.lead_scores == b.lead_scores and a.beats == b.beats


# ---------------------------------------------------------------------------- bundled weights
N_RECORDS = 5


@pytest.fixture(scope="module")
def bundled() -> Detector:
    return Detector.load(bundled_weights(), device="cpu")


@pytest.mark.slow
@pytest.mark.needs_shared
def test_inserted_abnormality_scores_higher_and_is_localized(
    bundled: Detector, ptbxl_dir: Path
) -> None:
    # A premature wide beat (model.localization_benchmark) in each of the first report-half
    # normals. The subtler insertions (ST shift, T inversion, EMG burst) are measured by the
    # benchmark (benchmarks/model_accuracy.py), not asserted record by record.
    kind = "premature_wide_beat"
    normals = [r for r in ptbxl_split(ptbxl_dir, bundled.cfg).report if r.normal][:N_RECORDS]
    for item in normals:
        rec = io.read(item.path)
        assert isinstance(rec, Record)
        ins = insert(rec, kind, seed=7, key=item.ecg_id)
        clean, modified = bundled.score_many([rec, as_record(rec, ins)])
        assert modified.score > clean.score, (item.ecg_id, kind, modified.score, clean.score)
        # Where the map says: the change itself, not the rest of the record.
        peak = int(np.argmax(modified.anomaly_map.sum(axis=0)))
        assert any(a <= peak < b for a, b in ins.spans), (item.ecg_id, kind, peak, ins.spans)


def test_work_beside_the_network_gives_the_same_results(bundled: Detector) -> None:
    """The bundled model (bank, measurement ranges, findings): the median beats, bank
    comparison, measurement features, local-event features and signal quality made in the second
    thread while the network runs give what making them first, in the calling thread, gives."""
    records = [
        synthetic_record(fs, seconds, seed=s)[0]
        for s, (fs, seconds) in enumerate(
            [(500.0, 10.0), (100.0, 10.0), (500.0, 8.0), (360.0, 20.0)]
        )
    ]
    results, before = {}, bundled.quality_beside_network
    try:
        for beside in (False, True):
            bundled.quality_beside_network = beside
            results[beside] = bundled.score_many(records, batch=3)
    finally:
        bundled.quality_beside_network = before
    for a, b in zip(results[False], results[True]):
        assert isinstance(a, ScoreResult) and isinstance(b, ScoreResult)
        assert a.score == b.score and a.components == b.components and a.flags == b.flags
        assert a.findings == b.findings and repr(a.quality) == repr(b.quality)  # NaN != NaN
        # The score's hinge parts (model/local_events.py) and the vectorcardiographic parts
        # (model/vcg.py) are made in both.
        assert {"hf_burst", "st_change", "qrst_angle", "t_complexity"} <= set(a.components)
        for name in ("anomaly_map", "restored", "finding_map"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_calling_thread_makes_the_work_the_second_thread_has_not_begun(
    bundled: Detector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the second thread held up elsewhere, scoring neither waits for it nor changes:
    the calling thread makes the median beats, bank comparison, measurements and quality."""
    import model.infer as infer

    records = [synthetic_record(fs, 10.0, seed=s)[0] for s, fs in enumerate((500.0, 100.0))]
    bundled.quality_beside_network = True
    expected = bundled.score_many(records)
    release = threading.Event()
    held = []

    def held_thread() -> ThreadPoolExecutor:
        pool = ThreadPoolExecutor(max_workers=1)
        held.append(pool.submit(release.wait, 30))  # busy until the scores are made
        return pool

    monkeypatch.setattr(infer, "_beside_thread", held_thread)
    try:
        got = bundled.score_many(records)
    finally:
        release.set()
    assert held and all(h.result() for h in held)  # released, not timed out waiting
    for a, b in zip(expected, got):
        assert isinstance(a, ScoreResult) and isinstance(b, ScoreResult)
        assert a.score == b.score and a.components == b.components and a.flags == b.flags
        assert a.findings == b.findings and repr(a.quality) == repr(b.quality)
        np.testing.assert_array_equal(a.anomaly_map, b.anomaly_map)


def test_a_single_ecgs_work_beside_starts_once_the_network_inputs_exist(
    bundled: Detector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One ECG: its second-thread work is handed over just before the network call (not
    while the calling thread still builds the inputs, which needs the GIL), and once."""
    import model.infer as infer
    import model.restore as restore

    events: list[str] = []
    real_forward = restore.forward_windows

    def forward(*args: object, **kwargs: object) -> object:
        events.append("forward")
        return real_forward(*args, **kwargs)  # type: ignore[arg-type]

    class Pool:
        def submit(self, fn: object) -> None:
            events.append("beside")
            fn()  # type: ignore[operator]

    monkeypatch.setattr(infer, "forward_windows", forward)
    monkeypatch.setattr(infer, "_beside_thread", lambda: Pool())
    bundled.quality_beside_network = True
    result = bundled.score(synthetic_record(500.0, 10.0, seed=5)[0])
    assert isinstance(result, ScoreResult)
    assert events == ["forward", "beside"]
    events.clear()
    two = bundled.score_many([synthetic_record(500.0, 10.0, seed=s)[0] for s in (6, 7)])
    assert all(isinstance(r, ScoreResult) for r in two)
    assert events == ["beside", "forward", "beside"]  # the first beside the second's preparing


def test_asking_for_every_component_after_loading_gets_them(bundled: Detector) -> None:
    """benchmarks/model_accuracy.py sets ``all_components`` on a loaded Detector: the all-pass
    maps the "_all" kinds need must follow (they were left out, and scoring failed)."""
    record = synthetic_record(100.0, 10.0, seed=3)[0]
    try:
        bundled.all_components = True
        every = bundled.score(record)
    finally:
        bundled.all_components = False
    assert isinstance(every, ScoreResult)
    assert {"global_mse_all", "combined_nll_all", "hf_burst"} <= set(every.components)
    assert {"qrs_global_nll", "qrs_global_nll_all"} <= set(every.components)
    plain = bundled.score(record)
    assert isinstance(plain, ScoreResult) and "global_mse_all" not in plain.components
    assert "qrs_global_nll" not in plain.components  # not made where the score needs none
    assert plain.score == every.score


def test_bundled_model_prepared_in_a_worker_scores_as_here(bundled: Detector) -> None:
    """The archive pipeline's worker processes (Detector.preparer, pickled) also make the
    bundled score's local-event features and vectorcardiographic parts: the same results."""
    import pickle

    record = synthetic_record(500.0, 10.0, seed=5)[0]
    preparer = pickle.loads(pickle.dumps(bundled.preparer()))
    prepared = pickle.loads(pickle.dumps(preparer(record)))
    gen = bundled.iter_score_many([record], prepared=[prepared])
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        there = stop.value[0]
    here = bundled.score(record)
    assert isinstance(there, ScoreResult) and isinstance(here, ScoreResult)
    assert {"hf_burst", "st_change", "qrst_angle"} <= set(there.components)
    assert there.score == here.score and there.components == here.components


def test_windows_sorted_by_beats_and_split_on_a_cpu_score_as_one_by_one(
    bundled: Detector,
) -> None:
    """score_many sorts the windows by their number of beats and, on a CPU, calls the network
    on at most CPU_WINDOWS_PER_CALL of them at a time: each ECG scores as it does alone."""
    from model.infer import CPU_WINDOWS_PER_CALL

    recs = [
        synthetic_record(100.0, 10.0, seed=i, hr=50.0 + 5.0 * i)[0]
        for i in range(CPU_WINDOWS_PER_CALL + 4)
    ]
    many = bundled.score_many(recs, batch=64)
    for rec, res in zip(recs, many):
        one = bundled.score(rec)
        assert isinstance(res, ScoreResult)
        assert res.score == pytest.approx(one.score, rel=1e-4, abs=1e-4)
        np.testing.assert_allclose(res.restored, one.restored, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("beside", [False, True])
def test_without_maps_the_score_lead_scores_flags_and_quality_are_the_same(
    bundled: Detector, beside: bool
) -> None:
    """Detector.make_maps = False (ecgad score's table): the same score, percentile,
    components, lead scores, flags and quality, in one thread or two and prepared in a worker;
    the per-sample results are empty rather than made."""
    import pickle

    records = [
        synthetic_record(fs, seconds, seed=s)[0]
        for s, (fs, seconds) in enumerate([(500.0, 10.0), (100.0, 10.0), (360.0, 20.0)])
    ]
    # A short record (padded), chest leads off, only noise (no beats), eight leads (derived).
    short = synthetic_record(500.0, 6.0, seed=4)[0]
    chest_off = synthetic_record(500.0, 10.0, seed=5)[0]
    chest_off.signal[[chest_off.leads.index(f"V{i}") for i in range(1, 7)]] = 0.0
    noise = np.random.default_rng(6).normal(0.0, 0.005, (12, 5000)).astype(np.float32)
    eight = synthetic_record(500.0, 10.0, seed=7)[0]
    keep = [eight.leads.index(n) for n in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")]
    records += [
        short,
        chest_off,
        Record(noise, 500.0, list(chest_off.leads), source="noise"),
        Record(eight.signal[keep], 500.0, [eight.leads[i] for i in keep], source="eight"),
    ]
    before = bundled.quality_beside_network, bundled.make_maps
    try:
        bundled.quality_beside_network = beside
        full = bundled.score_many(records)
        bundled.make_maps = False
        lean = bundled.score_many(records)
        preparer = pickle.loads(pickle.dumps(bundled.preparer()))
        gen = bundled.iter_score_many(records, prepared=[preparer(r) for r in records])
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            lean_worker = stop.value
    finally:
        bundled.quality_beside_network, bundled.make_maps = before
    for record, a, b, c in zip(records, full, lean, lean_worker):
        assert isinstance(a, ScoreResult) and isinstance(b, ScoreResult)
        assert isinstance(c, ScoreResult)
        for lean_result in (b, c):
            np.testing.assert_equal(
                (lean_result.score, lean_result.percentile, lean_result.components),
                (a.score, a.percentile, a.components),
            )  # NaN equal to NaN
            assert lean_result.lead_scores == a.lead_scores and lean_result.flags == a.flags
            assert repr(lean_result.quality) == repr(a.quality)  # NaN != NaN
            assert lean_result.anomaly_map.shape == (len(record.leads), 0)
            assert lean_result.restored.shape == (len(record.leads), 0)
            assert lean_result.finding_map is None
            assert lean_result.beats == [] and lean_result.findings == []
            # Its evidence holds what the lead scores use: no beats, spans or rhythm.
            assert lean_result.evidence is not None and lean_result.evidence.rhythm == {}
            assert lean_result.evidence.spans.shape == (0, 2)
        assert a.anomaly_map.shape == (len(record.leads), record.n_samples)
