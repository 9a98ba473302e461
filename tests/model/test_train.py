"""Training: checkpoints, exact resume, and DistributedDataParallel on CPU (gloo, 2 processes)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ecgviewer.record import STANDARD_LEADS
from ecgviewer.signal.synthetic import synthetic_ecg
from model.config import ModelConfig
from model.network import CrossRestorationNet, restoration_loss, trend_view
from model.train import build_parser, train
from tests.io._writers import write_wfdb
from tests.model.conftest import tiny_config

N_RECORDS = 8


@pytest.fixture(scope="module")
def normals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of synthetic normal 10 s ECGs at 100 Hz, written with wfdb.wrsamp."""
    folder = tmp_path_factory.mktemp("normals")
    for i in range(N_RECORDS):
        syn = synthetic_ecg(fs=100.0, duration=10.0, hr=60.0 + 4 * i, seed=i)
        write_wfdb(folder, f"n{i:02d}", syn.signal.astype(np.float64), 100, list(STANDARD_LEADS))
    return folder


def _args(folder: Path, out: Path, epochs: int, *extra: str):  # noqa: ANN202
    return build_parser().parse_args(
        [
            "--folder",
            str(folder),
            "--out",
            str(out),
            "--epochs",
            str(epochs),
            "--batch-size",
            "2",
            "--channels",
            "8,16,32,64",
            "--beats",
            "2",
            "--seed",
            "5",
            "--threads",
            "1",
            "--quiet",
            *extra,
        ]
    )


def test_one_epoch_writes_checkpoints(normals: Path, tmp_path: Path) -> None:
    result = train(_args(normals, tmp_path, 1))
    assert (tmp_path / "best.pt").is_file() and (tmp_path / "last.pt").is_file()
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["config"]["channels"] == [8, 16, 32, 64] and best["meta"]["epoch"] == 1
    assert len(result["history"]) == 1 and np.isfinite(result["history"][0]["loss"])
    net = CrossRestorationNet(ModelConfig.from_dict(best["config"]))
    net.load_state_dict(best["state_dict"])  # a loadable network of the stated config


def test_lowpass_sets_the_band_the_network_is_trained_and_scored_at(
    normals: Path, tmp_path: Path
) -> None:
    train(_args(normals, tmp_path / "lp", 1, "--lowpass", "40"))
    best = torch.load(tmp_path / "lp" / "best.pt", weights_only=True)
    assert ModelConfig.from_dict(best["config"]).lowpass_hz == 40.0  # scoring reads it there
    with pytest.raises(SystemExit, match="between 0 and 50 Hz, in that order"):
        train(_args(normals, tmp_path / "bad", 1, "--lowpass", "60"))


def test_latent_sets_the_fusion_width(normals: Path, tmp_path: Path) -> None:
    train(_args(normals, tmp_path / "lat", 1, "--latent", "32"))
    best = torch.load(tmp_path / "lat" / "best.pt", weights_only=True)
    cfg = ModelConfig.from_dict(best["config"])
    assert cfg.latent == 32
    CrossRestorationNet(cfg).load_state_dict(best["state_dict"])  # its weights fit that width
    with pytest.raises(SystemExit, match="positive multiple of 2"):
        train(_args(normals, tmp_path / "bad", 1, "--latent", "33"))


def test_ema_saves_the_averaged_weights_and_resumes_them(normals: Path, tmp_path: Path) -> None:
    train(_args(normals, tmp_path / "raw", 2))
    train(_args(normals, tmp_path / "ema", 2, "--ema", "0.9"))
    raw = torch.load(tmp_path / "raw" / "last.pt", weights_only=False)
    ema = torch.load(tmp_path / "ema" / "last.pt", weights_only=False)
    # The optimised weights are the same run; the saved best.pt holds the average instead.
    for key, value in raw["model"].items():
        torch.testing.assert_close(ema["model"][key], value)
    best = torch.load(tmp_path / "ema" / "best.pt", weights_only=True)["state_dict"]
    averaged = {k[len("module.") :]: v for k, v in ema["ema"].items() if k.startswith("module.")}
    assert set(averaged) == set(best)
    moved = [
        k for k, v in best.items() if v.is_floating_point() and not torch.equal(v, raw["model"][k])
    ]
    assert moved, "the EMA weights should differ from the last raw weights"
    # Resuming one more epoch continues the saved average rather than restarting it.
    resumed = train(_args(normals, tmp_path / "ema", 3, "--ema", "0.9", "--resume"))
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    after = torch.load(tmp_path / "ema" / "last.pt", weights_only=False)["ema"]
    assert int(after["n_averaged"]) > int(ema["ema"]["n_averaged"])


class _Stop(Exception):
    pass


def test_resume_continues_exactly(
    normals: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    straight = train(_args(normals, tmp_path / "a", 2))
    real_save = torch.save

    def save_then_crash(obj, path, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        real_save(obj, path, *a, **kw)
        if Path(path).name == "last.pt":
            raise _Stop  # the machine "dies" right after the epoch-1 checkpoint

    monkeypatch.setattr(torch, "save", save_then_crash)
    with pytest.raises(_Stop):
        train(_args(normals, tmp_path / "b", 2))
    monkeypatch.setattr(torch, "save", real_save)
    assert torch.load(tmp_path / "b" / "last.pt", weights_only=False)["epoch"] == 1
    resumed = train(_args(normals, tmp_path / "b", 2, "--resume"))
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]
    assert resumed["history"][1]["loss"] == pytest.approx(straight["history"][1]["loss"], rel=1e-5)
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=False)["model"]
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- DDP
BATCH = 4


def _batch() -> tuple[torch.Tensor, ...]:
    """The same deterministic batch in every process."""
    cfg = tiny_config()
    g = torch.Generator().manual_seed(11)
    t = torch.arange(cfg.global_len) / cfg.fs
    phase = torch.rand(BATCH, cfg.n_leads, 1, generator=g) * 6.28
    x = torch.sin(2 * torch.pi * 1.1 * t + phase) + 0.1 * torch.randn(
        BATCH, cfg.n_leads, cfg.global_len, generator=g
    )
    beats = torch.stack(
        [x[:, :, 100 : 100 + cfg.beat_len], x[:, :, 500 : 500 + cfg.beat_len]], dim=1
    )
    x_in = x * (torch.rand(BATCH, 1, cfg.global_len, generator=g) > 0.3)
    b_in = beats * (torch.rand(BATCH, 2, 1, cfg.beat_len, generator=g) > 0.3)
    valid = torch.ones(BATCH, 2, dtype=torch.bool)
    age = torch.rand(BATCH, generator=g)
    sex = (torch.rand(BATCH, generator=g) > 0.5).float()
    return x_in, b_in, valid, trend_view(x_in, cfg), x, beats, age, sex


def _net() -> CrossRestorationNet:
    torch.manual_seed(3)
    # eval(): BatchNorm uses its running statistics, so the loss of a half does not depend on
    # the other half; every loss term is a mean over equal halves, so the mean of the two
    # half-batch gradients must equal the full-batch gradient.
    return CrossRestorationNet(tiny_config()).eval()


def _loss_and_grads(
    net: torch.nn.Module, module: CrossRestorationNet, sl: slice
) -> tuple[float, torch.Tensor]:
    x_in, b_in, valid, trend, x, beats, age, sex = _batch()
    out = net(x_in[sl], b_in[sl], valid[sl], trend[sl])
    loss, _ = restoration_loss(out, x[sl], beats[sl], valid[sl], age[sl], sex[sl], module.cfg)
    loss.backward()
    grads = torch.cat([p.grad.ravel() for p in module.parameters() if p.grad is not None])
    return float(loss.detach()), grads


def _ddp_worker(rank: int, world: int, ports: tuple[int, int], folder: str, out: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(ports[0]),
        WORLD_SIZE=str(world),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    # 1) Gradient equivalence: each rank takes its half of the batch.
    dist.init_process_group("gloo", rank=rank, world_size=world)
    module = _net()
    ddp = torch.nn.parallel.DistributedDataParallel(module)
    half = BATCH // world
    loss, grads = _loss_and_grads(ddp, module, slice(rank * half, (rank + 1) * half))
    mean_loss = torch.tensor([loss])
    dist.all_reduce(mean_loss)
    if rank == 0:
        torch.save({"loss": float(mean_loss) / world, "grads": grads}, Path(out) / "ddp.pt")
    dist.barrier()
    dist.destroy_process_group()
    # 2) The training entry point under torchrun's environment variables (a new rendezvous
    # port: re-using the first one in the same process can hang the second rendezvous).
    os.environ["MASTER_PORT"] = str(ports[1])
    train(_args(Path(folder), Path(out) / "run", 1))


def _free_ports() -> tuple[int, int]:
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        return int(a.getsockname()[1]), int(b.getsockname()[1])


@pytest.mark.slow
def test_ddp_two_gloo_processes_match_one_process(normals: Path, tmp_path: Path) -> None:
    mp.spawn(_ddp_worker, args=(2, _free_ports(), str(normals), str(tmp_path)), nprocs=2, join=True)
    got = torch.load(tmp_path / "ddp.pt", weights_only=True)
    single = _net()
    full_loss, full_grads = _loss_and_grads(single, single, slice(None))
    assert got["loss"] == pytest.approx(full_loss, rel=1e-5)
    torch.testing.assert_close(got["grads"], full_grads, rtol=1e-4, atol=1e-6)
    # The all-reduce really happened: rank 0's own half alone gives a different gradient.
    alone = _net()
    _, half_grads = _loss_and_grads(alone, alone, slice(0, BATCH // 2))
    assert not torch.allclose(half_grads, full_grads, rtol=1e-3, atol=1e-5)
    # Rank 0 alone wrote the checkpoints of the DDP training run.
    run = tmp_path / "run"
    assert (run / "best.pt").is_file() and (run / "last.pt").is_file()
    history = torch.load(run / "last.pt", weights_only=False)["history"]
    assert len(history) == 1 and np.isfinite(history[0]["loss"])


def test_init_starts_from_given_weights_and_is_recorded(normals: Path, tmp_path: Path) -> None:
    train(_args(normals, tmp_path / "a", 1))
    first = torch.load(tmp_path / "a" / "best.pt", weights_only=True)
    half = {
        "config": first["config"],
        "meta": {"epoch": 1},
        "state_dict": {
            k: v.half() if v.is_floating_point() else v for k, v in first["state_dict"].items()
        },
    }
    torch.save(half, tmp_path / "weights.pt")  # as the bundled weights are stored
    train(_args(normals, tmp_path / "b", 1, "--init", str(tmp_path / "weights.pt"), "--lr", "0"))
    tuned = torch.load(tmp_path / "b" / "best.pt", weights_only=True)
    assert tuned["config"]["extra"]["init"]["path"] == str(tmp_path / "weights.pt")
    for key, value in half["state_dict"].items():  # learning rate 0: still the initial weights
        if "running_" in key or "num_batches" in key:
            continue  # batch-norm statistics follow the data whatever the learning rate
        assert torch.equal(tuned["state_dict"][key].to(value.dtype), value), key


@pytest.mark.parametrize(
    "local_world, gpus, backend, device",
    [(4, 1, "gloo", "cuda:0"), (2, 2, "nccl", "cuda:1"), (4, 2, "gloo", "cuda:1")],
)
def test_ranks_beyond_the_gpus_share_them_over_gloo(
    monkeypatch: pytest.MonkeyPatch, local_world: int, gpus: int, backend: str, device: str
) -> None:
    """torchrun with more ranks than GPUs on a machine: each rank takes a GPU modulo their
    number (not a device that does not exist) and the group uses gloo (NCCL refuses two ranks
    on one GPU)."""
    from model import train

    chosen: list[str] = []
    monkeypatch.setenv("WORLD_SIZE", str(local_world))
    monkeypatch.setenv("RANK", "3" if local_world == 4 else "1")
    monkeypatch.setenv("LOCAL_RANK", "3" if local_world == 4 else "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(local_world))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(torch.cuda, "set_device", lambda index: None)
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda name, **kw: chosen.append(name))
    assert train._ddp_setup("cuda")[2] == device
    assert chosen == [backend]
