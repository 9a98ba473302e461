"""Every hyperparameter of the anomaly model in one dataclass, each with a one-line reason.

Times are kept from the reference (Jiang et al. 2023) in seconds, not samples, so the model's
own rate can change without re-deriving windows. The default rate is 100 Hz because the
training data at hand (PTB-XL records100) is 100 Hz: upsampling it would add no information.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ecgviewer.record import STANDARD_LEADS


@dataclass
class ModelConfig:
    # ---- signal -------------------------------------------------------------------------
    fs: float = 100.0  # model rate (Hz); every input is resampled to it
    leads: tuple[str, ...] = STANDARD_LEADS  # input channel order
    global_seconds: float = (
        9.6  # global view: central 9.6 s of a 10 s ECG (reference: 4800 @ 500 Hz)
    )
    beat_before: float = (
        0.28  # local view starts 280 ms before the R peak (reference: 140 @ 500 Hz)
    )
    beat_after: float = 0.68  # ... and ends 680 ms after it (reference: 340 @ 500 Hz)
    highpass_hz: float = 1.0  # baseline wander removal, as the reference
    lowpass_hz: float = 25.0  # band limit, as the reference (model-internal only, never displayed)
    norm_mode: str = (
        "lead"  # "lead": each lead its own scale; "record": one scale, keeps lead ratios
    )
    norm_clip: float = 3.0  # robust-scaled samples clipped here so one artefact cannot dominate
    trend_smooth: float = 0.02  # trend view: moving average of 20 ms (reference: 10 @ 500 Hz)

    # ---- masking ------------------------------------------------------------------------
    patch_seconds: float = 0.1  # global masks are 100 ms patches (96 patches in 9.6 s)
    mask_ratio: float = 0.3  # training masks 30% of global patches and a 30% span of the beat
    n_patterns: int = 3  # scoring: 3 complementary deterministic masks cover every sample once
    score_repeats: int = 1  # scoring: sets of patterns on shifted grids, errors averaged

    # ---- network ------------------------------------------------------------------------
    channels: tuple[int, ...] = (32, 64, 128, 256)  # encoder widths; each stage halves time
    kernel: int = 4  # stride-2 convolution kernel (reference)
    latent: int = 128  # latent channels per time step, shared by the fusion block
    heads: int = 2  # attention heads in the global-local fusion (reference: 2)
    dropout: float = 0.0  # none: the model must reproduce details, not regularise them away

    # ---- training -----------------------------------------------------------------------
    lr: float = 1e-3  # AdamW learning rate (peak of a cosine schedule)
    weight_decay: float = 1e-5  # AdamW weight decay (reference)
    batch_size: int = 32  # ECGs per step (reference)
    epochs: int = 50  # passes over the training normals
    beats_per_ecg: int = 1  # random beats drawn per ECG per step for the local branch
    attr_weight: float = 0.1  # weight of the age/sex head in the total loss
    trend_weight: float = 1.0  # weight of the trend branch reconstruction
    local_weight: float = 1.0  # weight of the local (beat) restoration
    seed: int = 20231008  # everything random derives from this
    eval_every: int = 1  # epochs between validation AUROC checks on the selection half
    aug_gain: float = 0.0  # training augmentation (model/augment.py); 0 = off: per-lead gain
    aug_wander: float = 0.0  # ... slow residual baseline drift
    aug_noise: float = 0.0  # ... broadband (EMG-like) noise

    # ---- scoring ------------------------------------------------------------------------
    map_sigma: float = 0.03  # Gaussian smoothing of the anomaly map, 30 ms (reference 15 @ 500 Hz)
    window_stride: float = 4.8  # long recordings: windows overlap by half

    # ---- normal-beat bank (model/beat_bank.py) ------------------------------------------
    bank_low_hz: float = 0.5  # median beats keep slow ST/T content (0.5 > 1 Hz on selection)
    bank_high_hz: float = 25.0  # same upper band as the network
    bank_before: float = 0.25  # median beat from 250 ms before R (P wave) ...
    bank_after: float = 0.45  # ... to 450 ms after (QRS, ST, most of T): best on selection
    bank_components: int = 128  # stored projection: 99.9 % of the normal beats' energy
    bank_k: int = 3  # distance = mean over the 3 most similar training normals
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes kept in checkpoints

    # ---- derived sizes (samples at the model rate) --------------------------------------
    @property
    def global_len(self) -> int:
        return int(round(self.global_seconds * self.fs))

    @property
    def beat_pre(self) -> int:
        return int(round(self.beat_before * self.fs))

    @property
    def beat_len(self) -> int:
        return self.beat_pre + int(round(self.beat_after * self.fs))

    @property
    def bank_pre(self) -> int:
        return int(round(self.bank_before * self.fs))

    @property
    def bank_len(self) -> int:
        return self.bank_pre + int(round(self.bank_after * self.fs))

    @property
    def patch_len(self) -> int:
        return int(round(self.patch_seconds * self.fs))

    @property
    def n_patches(self) -> int:
        return self.global_len // self.patch_len

    @property
    def n_leads(self) -> int:
        return len(self.leads)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["leads"] = list(self.leads)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("leads", "channels"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)
